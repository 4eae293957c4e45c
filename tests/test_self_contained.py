"""The repository stands alone: no tracked file points at folders outside it or at the tracker.

The evaluation's facts live in ``docs/evaluation.md``; references elsewhere must go there.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Built from pieces so that this file does not match its own patterns.
FORBIDDEN = re.compile(
    "|".join([
        r"\.\./" + "shared",
        r"/work/" + "shared",
        "shared/" + "reference",
        "inconsistencies" + r"\.md",
        "methodology" + r"\.md",
        "ai2016" + r"_se\.md",
        "new_chance" + "_part_b",
        "published_tables" + r"\.md",
        "DESIGN" + r"\.md",
        r"\bissues?\s+#?\d+",
    ]),
    flags=re.IGNORECASE,
)


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an installed copy has no tracked files to check)")
    files = []
    for name in out.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file() and not path.is_symlink():
            files.append(path)
    return files


def _offences(text: str) -> list[str]:
    return [m.group(0) for m in FORBIDDEN.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("see ../" "shared/" "reference/x.md", True),
        ("see inconsistencies" ".md §5", True),
        ("(issue" " 7 of the project)", True),
        ("Tolerances (issues" " 5 and 6)", True),
        ("see docs/evaluation.md §5", False),
        ("women facing MH issues were 35-37% lower", False),
        ("shared by the tests", False),
    ],
)
def test_pattern(text, found):
    assert bool(_offences(text)) is found


def test_no_tracked_file_points_outside_the_repository():
    bad = []
    for path in _tracked_text_files():
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (figures)
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if _offences(line):
                bad.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not bad, "references outside the repository (use docs/evaluation.md):\n" + "\n".join(bad)


def test_every_section_reference_exists_in_docs_evaluation():
    sections = set(re.findall(r"^### §(\d+)", (ROOT / "docs" / "evaluation.md").read_text("utf-8"), flags=re.M))
    assert sections == {str(n) for n in range(1, 16)}
    cited = re.compile(r"evaluation\.md`?\)?,? §(\d+)")
    for path in _tracked_text_files():
        if path.suffix not in {".py", ".md", ".ipynb", ".yaml"}:
            continue
        for n in cited.findall(path.read_text("utf-8", errors="replace")):
            assert n in sections, f"{path.relative_to(ROOT)} cites docs/evaluation.md §{n}, which does not exist"
