"""The bundled packs stand on their own: a format version, public sources (titles and
URLs), no path outside the repository (issue 9 item 7)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from csbm.rules import bundled_pack_ids, load_pack
from csbm.rules.pack import SCHEMA_VERSION


def _text(pack_id: str) -> str:
    return (resources.files("csbm.regimes") / f"{pack_id}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("pack_id", bundled_pack_ids())
def test_pack_declares_its_format_and_cites_no_private_path(pack_id: str) -> None:
    text = _text(pack_id)
    assert text.count(f"\nschema: {SCHEMA_VERSION}\n") == 1
    for private in ("shared/", "public-cases", "digest"):
        assert private not in text, private
    assert load_pack(pack_id).schema_version == SCHEMA_VERSION


@pytest.mark.parametrize("pack_id", bundled_pack_ids())
def test_every_cited_source_has_a_public_address(pack_id: str) -> None:
    pack = load_pack(pack_id)
    for rule in pack.rules:
        for key in rule.provenance.sources:
            source = pack.source(key)
            assert source.url and source.url.startswith(("http://", "https://")), (rule.id, key)


def test_vd2011_names_the_official_text_and_translation() -> None:
    pack = load_pack("vd2011")
    assert pack.sources["FSC"].url == "https://www.osce.org/fsc/86597"
    assert "1686/2017" in pack.sources["T0"].title


def test_docs_of_the_rules_cite_no_private_path(repo_root: Path) -> None:
    for page in ("rule-packs.md", "regional-measures.md"):
        assert "shared/" not in (repo_root / "docs" / page).read_text(encoding="utf-8"), page
