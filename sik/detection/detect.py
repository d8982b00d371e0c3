"""The detector contract and the election: every detector looks at every ISO; the most specific
match wins, and two equally specific matches are an error rather than a silent choice.
Finding and loading detectors is sik/detection/plugins.py's job."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import ClassVar

from sik.core.errors import IsoReadError
from sik.core.model import Detection, Unsupported
from sik.detection.iso import IsoView


class Detector:
    """Base class of a detector plugin.

    A subclass sets ``name`` and ``priority`` in its class statement and implements
    ``probe``::

        class LiveBoot(Detector, name="debian-live", priority=50):
            def probe(self, iso: IsoView) -> Detection | None: ...

    ``probe`` answers None when the ISO is not of its kind; it must not raise for odd input.
    A higher priority means a more specific detector: it wins over a lower one that also
    matched.
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 50

    def __init_subclass__(cls, *, name: str = "", priority: int = 50, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
            cls.priority = priority

    def probe(self, iso: IsoView) -> Detection | None:
        raise NotImplementedError


@dataclass(frozen=True)
class LoadedDetector:
    detector: Detector
    source: str  # where it came from, for error messages and `sik detect --explain`


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# What `--explain` quotes of a file or a listing: enough to recognise it on one line.
_QUOTE_CHARS = 60
_LIST_NAMES = 6


@dataclass(frozen=True)
class Question:
    """One question a detector asked of an ISO, and the answer it got, both as short text."""

    asked: str  # e.g. "exists /casper"
    answer: str  # e.g. "no"

    def __str__(self) -> str:
        return f"{self.asked} -> {self.answer}"


class RecordingView:
    """An IsoView that passes every question on and writes down what was asked and seen, so
    `sik detect --explain` can show a detector's reasoning without the detector's help."""

    def __init__(self, inner: IsoView) -> None:
        self._inner = inner
        self.questions: list[Question] = []

    def _note(self, asked: str, answer: str) -> None:
        self.questions.append(Question(asked, answer))

    @property
    def volume_id(self) -> str:
        label = self._inner.volume_id
        self._note("volume label", _quote(label))
        return label

    def exists(self, path: str | PurePosixPath) -> bool:
        found = self._inner.exists(path)
        self._note(f"exists {_show(path)}", _yes(found))
        return found

    def is_dir(self, path: str | PurePosixPath) -> bool:
        found = self._inner.is_dir(path)
        self._note(f"is_dir {_show(path)}", _yes(found))
        return found

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]:
        names = self._inner.listdir(path)
        shown = ", ".join(names[:_LIST_NAMES]) + (", ..." if len(names) > _LIST_NAMES else "")
        self._note(f"listdir {_show(path)}", f"{len(names)} names: {shown}" if names else "nothing")
        return names

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None:
        text = self._inner.read_text(path, limit)
        self._note(f"read {_show(path)}", "missing" if text is None else _quote(text))
        return text

    def first_existing(self, *paths: str) -> PurePosixPath | None:
        found = self._inner.first_existing(*paths)
        asked = "first_existing " + " ".join(_show(p) for p in paths)
        self._note(asked, str(found) if found is not None else "none")
        return found


def _show(path: str | PurePosixPath) -> str:
    return "/" + str(path).strip("/")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _quote(text: str) -> str:
    """The first non-empty line, shortened: what a person needs to recognise a file."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    more = len(line) > _QUOTE_CHARS or line != text.strip()
    return json.dumps(line[:_QUOTE_CHARS] + (" ..." if more else ""), ensure_ascii=False)


@dataclass(frozen=True)
class Probe:
    """One detector's look at one ISO: what it asked, and what it concluded (or how it broke)."""

    name: str
    priority: int
    source: str
    questions: tuple[Question, ...]
    detection: Detection | None = None
    error: str | None = None  # the exception a broken probe raised, as text

    @property
    def status(self) -> str:
        return "failed" if self.error else ("matched" if self.detection else "no match")


@dataclass(frozen=True)
class Verdict:
    outcome: Detection | Unsupported
    probes: tuple[Probe, ...] = ()  # every detector that looked, in the order they ran
    why: str = ""  # how the outcome was chosen, in one sentence

    @property
    def matches(self) -> tuple[tuple[str, int, Detection], ...]:
        """Every detector that matched, most specific first."""
        found = [(p.name, p.priority, p.detection) for p in self.probes if p.detection]
        return tuple(sorted(found, key=lambda m: (-m[1], m[0])))

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"detector {p.name} failed: {p.error}" for p in self.probes if p.error)


def run_probe(loaded: LoadedDetector, iso: IsoView) -> Probe:
    detector = loaded.detector
    view = RecordingView(iso)
    try:
        detection = detector.probe(view)
    except IsoReadError:
        # The ISO is damaged where this detector looked (a directory past the end, a cycle):
        # the reader's verdict on the file, not a fault of the detector; the scan reports it.
        raise
    except Exception as exc:
        # A detector is a plugin, maybe a third party's: its bug costs its own vote, never
        # the verdict of the others or the whole run. (KeyboardInterrupt still stops sik.)
        return Probe(
            detector.name,
            detector.priority,
            loaded.source,
            tuple(view.questions),
            error=describe_error(exc),
        )
    if detection is not None and not isinstance(detection, Detection):
        error = f"probe returned {type(detection).__name__}, not Detection or None"
        return Probe(detector.name, detector.priority, loaded.source, tuple(view.questions), error=error)
    return Probe(detector.name, detector.priority, loaded.source, tuple(view.questions), detection)


def detect(iso: IsoView, detectors: Sequence[LoadedDetector]) -> Verdict:
    """Run every detector; the highest priority match wins, a tie at the top is ambiguous."""
    probes = tuple(run_probe(loaded, iso) for loaded in detectors)
    matched = sorted((p for p in probes if p.detection), key=lambda p: (-p.priority, p.name))
    if not matched:
        return Verdict(Unsupported(_unknown_reason(iso, probes)), probes, "no detector matched")
    top = [p for p in matched if p.priority == matched[0].priority]
    if len(top) > 1:
        names = " and ".join(p.name for p in top)
        reason = f"ambiguous: detectors {names} both match at priority {top[0].priority}"
        return Verdict(Unsupported(reason), probes, reason)
    winner, rest = matched[0], matched[1:]
    assert winner.detection is not None
    if rest:
        beaten = ", ".join(f"{p.name} ({p.priority})" for p in rest)
        why = f"{winner.name} wins: its priority {winner.priority} is above {beaten}"
    else:
        why = f"{winner.name} wins: the only detector that matched"
    return Verdict(winner.detection, probes, why)


def _unknown_reason(iso: IsoView, probes: Sequence[Probe]) -> str:
    label = iso.volume_id or "(none)"
    reason = (
        f"no detector recognises this ISO (volume label {label!r}; none of the {len(probes)} "
        "detectors matched, and it has no /boot/grub/loopback.cfg: `sik detect FILE --explain` "
        "shows what each looked for)"
    )
    failed = [p.name for p in probes if p.error]
    if failed:
        reason += f"; detector {', '.join(failed)} failed on it (see sik detect --explain)"
    return reason
