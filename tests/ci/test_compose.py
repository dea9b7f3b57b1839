"""`include` -> `extends` -> `!reference`, YAML anchors and merge keys, with GitLab's merge rules."""

from __future__ import annotations

import textwrap

from glrunner.ci import parse_pipeline
from tests.ci.conftest import errors_of


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_extends_deep_merges_hashes_and_replaces_arrays() -> None:
    pipeline = parse_pipeline(yaml("""
        .base:
          variables: {A: base, B: base}
          tags: [one, two]
          script: [base]
        job:
          extends: .base
          variables: {B: job}
          tags: [three]
    """))
    job = pipeline.jobs["job"]
    assert [(v.key, v.value) for v in job.variables] == [("A", "base"), ("B", "job")]
    assert job.tags == ("three",)
    assert job.script == ("base",)


def test_extends_multi_level_and_last_base_wins() -> None:
    """GitLab: bases merge in order, the job on top; a base's own extends first (MR 26801)."""
    pipeline = parse_pipeline(yaml("""
        .a: {script: [a], image: a-image}
        .b: {script: [b]}
        .c: {extends: .a, stage: build}
        d:
          extends: [.b, .c]
    """))
    job = pipeline.jobs["d"]
    assert job.script == ("a",)
    assert job.image is not None and job.image.name == "a-image"
    assert job.stage == "build"


def test_extends_errors() -> None:
    errors = errors_of(yaml("""
        .loop1: {extends: .loop2, script: [x]}
        .loop2: {extends: .loop1}
        a:
          extends: .missing
          script: [x]
        b:
          extends: .loop1
        c:
          extends: [.notahash]
          script: [x]
        .notahash: [1, 2]
    """))
    assert ".gitlab-ci.yml:4: a: unknown keys in `extends` (.missing); define them or fix the names" in errors
    assert ".gitlab-ci.yml:9: c: invalid base hashes in `extends` (.notahash); they must be mappings" in errors
    assert any("circular dependency detected in `extends`" in e for e in errors)


def test_extends_nesting_limit() -> None:
    chain = "\n".join(f".l{i}: {{extends: .l{i + 1}}}" for i in range(12)) + "\n.l12: {script: [x]}\n"
    errors = errors_of(chain + "job: {extends: .l0}\n")
    assert any("nesting too deep in `extends` (at most 10 levels)" in e for e in errors)


def test_reference_in_scripts_variables_and_rules() -> None:
    pipeline = parse_pipeline(yaml("""
        .setup:
          script: [one, two]
        .vars:
          variables: {URL: http://x}
        .rules:
          rules:
            - if: $X
        job:
          variables:
            URL: !reference [.vars, variables, URL]
          script:
            - !reference [.setup, script]
            - three
          rules:
            - !reference [.rules, rules]
            - when: never
    """))
    job = pipeline.jobs["job"]
    assert job.script == ("one", "two", "three")
    assert job.variables[0].value == "http://x"
    assert job.rules is not None and [r.if_expr for r in job.rules] == ["$X", None]


def test_reference_sees_the_result_of_extends() -> None:
    """GitLab resolves !reference after extends."""
    pipeline = parse_pipeline(yaml("""
        .base: {script: [from-base]}
        .child: {extends: .base}
        job:
          script: [!reference [.child, script], own]
    """))
    assert pipeline.jobs["job"].script == ("from-base", "own")


def test_reference_errors() -> None:
    errors = errors_of(yaml("""
        .a:
          script: [!reference [.b, script]]
        .b:
          script: [!reference [.a, script]]
        job:
          script:
            - !reference [.nothing, script]
            - !reference [.a, script]
            - !reference [{x: 1}]
    """))
    assert '.gitlab-ci.yml:7: !reference [".nothing", "script"] could not be found; check the job and key names' \
        in errors
    assert any("is part of a circular chain" in e for e in errors)
    assert ".gitlab-ci.yml:9: !reference: is not valid; write it as !reference [.job, key, ...] with names only" \
        in errors


def test_reference_nesting_limit_is_ten() -> None:
    lines = [f".r{i}:\n  script: [!reference [.r{i + 1}, script]]" for i in range(11)]
    text = "\n".join(lines) + "\n.r11:\n  script: [deep]\njob:\n  script: [!reference [.r0, script]]\n"
    assert any("nested too deep (at most 10 levels)" in e for e in errors_of(text))
    ok = "\n".join(lines[:8]) + "\n.r8:\n  script: [deep]\njob:\n  script: [!reference [.r0, script]]\n"
    assert parse_pipeline(ok).jobs["job"].script == ("deep",)


def test_anchor_merge_keys_explicit_keys_win_wherever_they_are() -> None:
    pipeline = parse_pipeline(yaml("""
        .t: &t {image: a, stage: build}
        job:
          image: explicit
          <<: *t
          script: [x]
    """))
    job = pipeline.jobs["job"]
    assert job.image is not None and job.image.name == "explicit"
    assert job.stage == "build"


def test_merge_list_earlier_maps_win() -> None:
    pipeline = parse_pipeline("job:\n  <<: [{stage: build}, {stage: deploy, image: x}]\n  script: [x]\n")
    job = pipeline.jobs["job"]
    assert (job.stage, job.image.name if job.image else None) == ("build", "x")


def test_yaml_11_scalars_as_gitlab_reads_them() -> None:
    """Psych (YAML 1.1): `on` is a boolean, 010 is octal, 1:30 is 90."""
    pipeline = parse_pipeline(yaml("""
        variables:
          OCTAL: 010
          SEXAGESIMAL: 1:30
          FLOAT: 1.50
          HEX: 0x1F
          DATE: 2024-01-02
          Y: y
          N: n
        job:
          interruptible: on
          script: [x]
    """))
    assert {v.key: v.value for v in pipeline.variables} == {
        "OCTAL": "8", "SEXAGESIMAL": "90", "FLOAT": "1.5", "HEX": "31", "DATE": "2024-01-02", "Y": "y", "N": "n"
    }
    assert pipeline.jobs["job"].interruptible is True


def test_include_local_merges_under_the_main_file() -> None:
    main = yaml("""
        include:
          - local: /ci/a.yml
          - ci/b.yml
        variables: {WHO: main}
        job:
          extends: .from-a
          script: [main]
    """)
    files = {
        "ci/a.yml": ".from-a: {stage: build, image: a}\nvariables: {WHO: a, ONLY_A: a}\n",
        "ci/b.yml": "variables: {WHO: b}\nextra:\n  script: [b]\n",
    }
    pipeline = parse_pipeline(main, includes=files)
    assert {v.key: v.value for v in pipeline.variables} == {"WHO": "main", "ONLY_A": "a"}
    assert list(pipeline.jobs) == ["extra", "job"]
    assert pipeline.jobs["job"].stage == "build"


def test_nested_includes_and_errors_point_into_the_included_file() -> None:
    files = {"ci/a.yml": "include: ci/b.yml\n", "ci/b.yml": "broken:\n  scrip: [x]\n"}
    errors = errors_of("include: ci/a.yml\njob:\n  script: [x]\n", files)
    assert "ci/b.yml:2: broken: config contains unknown keys: scrip; did you mean `script`?" in errors


def test_include_errors() -> None:
    errors = errors_of(yaml("""
        include:
          - local: missing.yml
          - remote: https://example.com/ci.yml
          - project: group/templates
            file: ci.yml
          - template: Auto-DevOps.gitlab-ci.yml
          - notes.txt
          - https://example.com/x.yml
        job:
          script: [x]
    """))
    assert errors == [
        ".gitlab-ci.yml:2: include: Local file `missing.yml` does not exist! The path is relative to the project root",
        ".gitlab-ci.yml:3: include:remote: https://example.com/ci.yml cannot be included: glrunner runs offline; "
        "copy the file into the project and use `include: local:`",
        ".gitlab-ci.yml:4: include:project: group/templates cannot be included: glrunner runs offline; copy the file "
        "into the project and use `include: local:`",
        ".gitlab-ci.yml:6: include:template: Auto-DevOps.gitlab-ci.yml cannot be included: glrunner runs offline; "
        "copy the file into the project and use `include: local:`",
        ".gitlab-ci.yml:7: include: Included file `notes.txt` does not have YAML extension! Rename it to .yml",
        ".gitlab-ci.yml:8: include:remote: https://example.com/x.yml cannot be included: glrunner runs offline; copy "
        "the file into the project and use `include: local:`",
    ]


def test_invalid_yaml_in_an_included_file() -> None:
    errors = errors_of("include: ci/x.yml\njob:\n  script: [x]\n", {"ci/x.yml": "a: [\n"})
    assert len(errors) == 1 and errors[0].startswith("ci/x.yml:2: invalid YAML: ")


def test_an_include_cycle_stops() -> None:
    files = {"a.yml": "include: b.yml\n", "b.yml": "include: a.yml\nj:\n  script: [x]\n"}
    assert list(parse_pipeline("include: a.yml\n", includes=files).jobs) == ["j"]


def test_a_failed_reference_is_reported_once() -> None:
    assert errors_of(".x:\n  y: ~\njob:\n  script:\n    - !reference [.x, y]\n    - echo\n") == [
        '.gitlab-ci.yml:5: !reference [".x", "y"] could not be found; check the job and key names'
    ]
