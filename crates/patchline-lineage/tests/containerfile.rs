//! Containerfile parsing and byte-preserving edits on real-world-shaped files.

use patchline_lineage::containerfile::{
    insert_upgrade_step, parse, set_final_base, BuildArgs, EditError, EditTarget, InputKind,
    ParseErrorKind,
};
use proptest::prelude::*;

const NEW: &str = "registry.local:5000/base/debian:12.7-p1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn args(kv: &[(&str, &str)]) -> BuildArgs {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn final_base(text: &str) -> Option<String> {
    parse(text)
        .unwrap()
        .final_base(&BuildArgs::new())
        .unwrap()
        .map(|r| r.0)
}

fn err_kind(text: &str) -> (usize, usize, ParseErrorKind) {
    let e = parse(text).unwrap_err();
    (e.line, e.column, e.kind)
}

const GO_MULTI: &str = r#"# syntax=docker/dockerfile:1.7
# A Go service built for the target platform on the build platform.
ARG GO_VERSION=1.22

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
ENTRYPOINT ["/app"]
"#;

#[test]
fn go_multi_stage() {
    let cf = parse(GO_MULTI).unwrap();
    assert_eq!(cf.directives().len(), 1);
    assert_eq!(cf.directives()[0].name, "syntax");
    assert_eq!(cf.directives()[0].value, "docker/dockerfile:1.7");
    let st = cf.stages();
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].name.as_deref(), Some("build"));
    assert_eq!(st[0].base, "golang:${GO_VERSION}-bookworm");
    assert_eq!(st[0].base_resolved.as_deref(), Some("golang:1.22-bookworm"));
    assert_eq!(st[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(st[0].platform_resolved, None);
    assert_eq!((st[0].line, st[0].column), (5, 32));
    assert_eq!(st[0].args.len(), 2);
    assert_eq!(st[1].base_stage, None);
    assert_eq!(
        final_base(GO_MULTI).as_deref(),
        Some("gcr.io/distroless/static-debian12:nonroot")
    );
    let inputs = cf.build_time_inputs(&BuildArgs::new()).unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].reference.0, "golang:1.22-bookworm");
    assert_eq!(inputs[0].kind, InputKind::StageBase);
    // A build argument overrides the global default and fills the predefined platform.
    let st = cf
        .stages_with_args(&args(&[
            ("GO_VERSION", "1.23"),
            ("BUILDPLATFORM", "linux/amd64"),
        ]))
        .unwrap();
    assert_eq!(st[0].base_resolved.as_deref(), Some("golang:1.23-bookworm"));
    assert_eq!(st[0].platform_resolved.as_deref(), Some("linux/amd64"));

    let edited = set_final_base(GO_MULTI, NEW).unwrap();
    assert_eq!(
        edited,
        GO_MULTI.replace(
            "FROM gcr.io/distroless/static-debian12:nonroot",
            &format!("FROM {NEW}")
        )
    );
}

const PY_CHAIN: &str = "FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1

FROM base AS builder
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM base AS final
COPY --from=builder /wheels /wheels
RUN pip install --no-index /wheels/*
CMD [\"python\", \"-m\", \"app\"]
";

#[test]
fn final_stage_built_on_an_earlier_stage_resolves_to_its_base() {
    let cf = parse(PY_CHAIN).unwrap();
    let st = cf.stages();
    assert_eq!(st[1].base_stage, Some(0));
    assert_eq!(st[2].base_stage, Some(0));
    assert_eq!(cf.final_base_stage(), 0);
    assert_eq!(final_base(PY_CHAIN).as_deref(), Some("python:3.12-slim"));
    assert!(cf.build_time_inputs(&BuildArgs::new()).unwrap().is_empty());
    // The FROM that holds the external base is the one rewritten; `AS base` stays.
    let out = set_final_base(PY_CHAIN, "python:3.12.7-slim@sha256:aa").unwrap();
    assert!(out.starts_with("FROM python:3.12.7-slim@sha256:aa AS base\nENV"));
    assert_eq!(
        &out[out.find('\n').unwrap()..],
        &PY_CHAIN[PY_CHAIN.find('\n').unwrap()..]
    );
    // The step goes into the final stage, after its last RUN (the builder's RUN is not
    // the final stage's).
    let out = insert_upgrade_step(PY_CHAIN, "apt-get update").unwrap();
    assert_eq!(
        out,
        PY_CHAIN.replace(
            "RUN pip install --no-index /wheels/*\n",
            "RUN pip install --no-index /wheels/*\nRUN apt-get update\n"
        )
    );
}

#[test]
fn arg_before_from_rewrites_the_default() {
    let text = "# Base chosen by the platform team.\nARG BASE=registry.local/ent/base:1.4.2\nFROM ${BASE}\nRUN useradd app\n";
    let cf = parse(text).unwrap();
    let edit = cf.final_base_edit(NEW).unwrap();
    assert_eq!(
        edit.target,
        EditTarget::ArgDefault {
            name: "BASE".into(),
            line: 2
        }
    );
    assert!(edit
        .note
        .as_deref()
        .unwrap()
        .contains("rewrote the default of ARG BASE (line 2)"));
    let out = edit.apply(text);
    assert_eq!(out, text.replace("registry.local/ent/base:1.4.2", NEW));
    assert_eq!(final_base(&out).as_deref(), Some(NEW));

    // `$BASE` without braces, quoted default: the quotes stay.
    let text = "ARG BASE=\"debian:12\"\nFROM $BASE AS final\n";
    let out = set_final_base(text, NEW).unwrap();
    assert_eq!(out, format!("ARG BASE=\"{NEW}\"\nFROM $BASE AS final\n"));

    // A build argument overrides the default.
    let cf = parse(text).unwrap();
    assert_eq!(
        cf.final_base(&args(&[("BASE", "ubuntu:24.04")]))
            .unwrap()
            .unwrap()
            .0,
        "ubuntu:24.04"
    );
}

#[test]
fn arg_without_default_or_partial_template_is_replaced_literally() {
    let text = "ARG BASE\nFROM ${BASE}\n";
    let cf = parse(text).unwrap();
    assert_eq!(cf.stages()[0].base_resolved, None);
    let e = cf.final_base(&BuildArgs::new()).unwrap_err();
    assert_eq!((e.line, e.column), (2, 6));
    assert!(matches!(e.kind, ParseErrorKind::BlankBase(_)));
    assert_eq!(
        cf.final_base(&args(&[("BASE", "alpine:3.20")]))
            .unwrap()
            .unwrap()
            .0,
        "alpine:3.20"
    );
    let edit = cf.final_base_edit(NEW).unwrap();
    assert!(matches!(
        edit.target,
        EditTarget::FromImage { stage: 0, line: 2 }
    ));
    assert_eq!(edit.apply(text), format!("ARG BASE\nFROM {NEW}\n"));

    let text = "ARG PY=3.12\nARG VARIANT=slim\nFROM python:${PY}-${VARIANT}\n";
    assert_eq!(final_base(text).as_deref(), Some("python:3.12-slim"));
    let cf = parse(text).unwrap();
    let edit = cf.final_base_edit(NEW).unwrap();
    assert!(edit
        .note
        .as_deref()
        .unwrap()
        .contains("replaced by the literal reference"));
    assert_eq!(
        edit.apply(text),
        format!("ARG PY=3.12\nARG VARIANT=slim\nFROM {NEW}\n")
    );
}

#[test]
fn substitution_forms() {
    let text = "ARG REGISTRY\nARG VARIANT=slim\nARG SUFFIX\nFROM ${REGISTRY:-docker.io}/library/python:3.12-${VARIANT}${SUFFIX:+-$SUFFIX}\n";
    assert_eq!(
        final_base(text).as_deref(),
        Some("docker.io/library/python:3.12-slim")
    );
    let cf = parse(text).unwrap();
    let got = cf
        .final_base(&args(&[
            ("REGISTRY", "reg.local"),
            ("SUFFIX", "fips"),
            ("VARIANT", ""),
        ]))
        .unwrap()
        .unwrap();
    assert_eq!(got.0, "reg.local/library/python:3.12--fips");
    assert_eq!(got.repository(), "reg.local/library/python");
    assert_eq!(got.tag(), Some("3.12--fips"));

    // Defaults may use earlier global ARGs; `-` without colon keeps a set-but-empty value.
    let text = "ARG V=3.20\nARG BASE=alpine:${V}\nARG EMPTY=\nFROM ${BASE}${EMPTY-x}\n";
    assert_eq!(final_base(text).as_deref(), Some("alpine:3.20"));

    // `:?` parses, and fails only when resolved without the variable.
    let text = "ARG BASE\nFROM ${BASE:?set_BASE_to_the_enterprise_base}\n";
    let cf = parse(text).unwrap();
    let e = cf.final_base(&BuildArgs::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 6: variable `BASE` is required: set_BASE_to_the_enterprise_base"
    );
    assert_eq!(
        cf.final_base(&args(&[("BASE", "debian:12")]))
            .unwrap()
            .unwrap()
            .0,
        "debian:12"
    );

    // An unrelated stage that cannot resolve does not hide the final base.
    let text = "ARG X\nFROM a:${X:?}\nFROM debian:12\n";
    assert_eq!(final_base(text).as_deref(), Some("debian:12"));
    assert!(parse(text)
        .unwrap()
        .stages_with_args(&BuildArgs::new())
        .is_err());

    // Variables not declared before the first FROM are not visible to it.
    let text = "FROM debian:12 AS a\nARG LATE=x\nFROM ${LATE:-alpine}:3\n";
    assert_eq!(final_base(text).as_deref(), Some("alpine:3"));
}

#[test]
fn scratch() {
    let text = "FROM golang:1.22 AS build\nRUN go build -o /app .\n\nFROM scratch\nCOPY --from=build /app /app\n";
    let cf = parse(text).unwrap();
    assert!(cf.stages()[1].scratch);
    assert_eq!(cf.final_base(&BuildArgs::new()).unwrap(), None);
    let inputs = cf.build_time_inputs(&BuildArgs::new()).unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].reference.0, "golang:1.22");
    assert_eq!(
        set_final_base(text, NEW).unwrap_err(),
        EditError::Scratch { line: 4 }
    );
    // An upgrade step can still be placed (the caller decides if it makes sense).
    assert!(insert_upgrade_step(text, "true")
        .unwrap()
        .contains("FROM scratch\nRUN true\nCOPY"));
}

#[test]
fn copy_from_and_mount_from_images_are_build_inputs() {
    let text = "FROM python:3.12-slim AS final
COPY --from=ghcr.io/astral-sh/uv:0.4.20 /uv /bin/uv
RUN --mount=type=bind,from=busybox:1.36,source=/bin/busybox,target=/bb /bb true
COPY --from=0 /etc/passwd /x
COPY --chown=app:app --from=final /a /b
";
    let cf = parse(text).unwrap();
    let inputs = cf.build_time_inputs(&BuildArgs::new()).unwrap();
    let got: Vec<(&str, InputKind, usize)> = inputs
        .iter()
        .map(|i| (i.reference.as_str(), i.kind, i.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("ghcr.io/astral-sh/uv:0.4.20", InputKind::CopyFrom, 2),
            ("busybox:1.36", InputKind::MountFrom, 3),
        ]
    );
}

#[test]
fn windows_escape_directive() {
    let text = "# escape=`\r\n\r\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\r\nSHELL [\"powershell\", \"-Command\"]\r\nRUN New-Item -ItemType Directory C:\\Example; `\r\n    Set-Content C:\\Example\\a.txt 'x'\r\nCOPY testfile.txt c:\\\r\nRUN dir c:\\\r\n";
    let cf = parse(text).unwrap();
    assert_eq!(cf.escape(), '`');
    let kws: Vec<&str> = cf
        .instructions()
        .iter()
        .map(|i| i.keyword.as_str())
        .collect();
    assert_eq!(kws, ["FROM", "SHELL", "RUN", "COPY", "RUN"]);
    assert_eq!(
        cf.instructions()[2].logical,
        "RUN New-Item -ItemType Directory C:\\Example;     Set-Content C:\\Example\\a.txt 'x'"
    );
    let out = set_final_base(
        text,
        "mcr.microsoft.com/windows/servercore:ltsc2022-p1@sha256:ab",
    )
    .unwrap();
    assert_eq!(
        out,
        text.replace("ltsc2022\r\n", "ltsc2022-p1@sha256:ab\r\n")
    );
    let out = insert_upgrade_step(text, "echo patched").unwrap();
    assert_eq!(
        out,
        text.replace("RUN dir c:\\\r\n", "RUN dir c:\\\r\nRUN echo patched\r\n")
    );

    // With the default escape, the backtick does not continue the line: the PowerShell
    // line after it is read as an instruction.
    let plain = text.replacen("# escape=`\r\n", "# a comment\r\n", 1);
    let e = parse(&plain).unwrap_err();
    assert_eq!((e.line, e.column), (6, 5));
    assert_eq!(
        e.kind,
        ParseErrorKind::UnknownInstruction("Set-Content".into())
    );
}

#[test]
fn directives_only_at_the_top() {
    // After a comment a directive is just a comment.
    let text = "# hello\n# escape=`\nFROM debian:12\nRUN a \\\n  b\n";
    let cf = parse(text).unwrap();
    assert!(cf.directives().is_empty());
    assert_eq!(cf.escape(), '\\');
    assert_eq!(cf.instructions()[1].logical, "RUN a   b");
    // An unknown directive ends the directives too.
    let text = "# foo=bar\n# escape=`\nFROM debian:12\n";
    assert!(parse(text).unwrap().directives().is_empty());
    // Case-insensitive names, whitespace around `=`.
    let text = "#  Syntax = docker/dockerfile:1\n# ESCAPE=`\nFROM x\n";
    let cf = parse(text).unwrap();
    assert_eq!(cf.directives().len(), 2);
    assert_eq!(cf.escape(), '`');
}

const HEREDOCS: &str = "# syntax=docker/dockerfile:1
FROM debian:12-slim
RUN <<EOF
set -eux
FROM evil:latest
apt-get update
EOF
COPY <<-\"CONF\" /etc/app.conf
\tkey=value
\tFROM not-an-instruction
\tCONF
RUN cat <<A <<'B' > /x
a
A
b
B
RUN [\"sh\", \"-c\", \"cat <<EOF\"]
USER app
";

#[test]
fn heredocs_are_not_instructions() {
    let cf = parse(HEREDOCS).unwrap();
    let kws: Vec<&str> = cf
        .instructions()
        .iter()
        .map(|i| i.keyword.as_str())
        .collect();
    assert_eq!(kws, ["FROM", "RUN", "COPY", "RUN", "RUN", "USER"]);
    assert_eq!(cf.stages().len(), 1);
    let run = &cf.instructions()[1];
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].name, "EOF");
    assert_eq!(
        &HEREDOCS[run.heredocs[0].body.clone()],
        "set -eux\nFROM evil:latest\napt-get update\n"
    );
    assert_eq!(
        &HEREDOCS[run.span.clone()],
        "RUN <<EOF\nset -eux\nFROM evil:latest\napt-get update\nEOF"
    );
    let copy = &cf.instructions()[2];
    assert!(copy.heredocs[0].strip_tabs);
    assert_eq!(copy.heredocs[0].name, "CONF");
    let two = &cf.instructions()[3];
    let names: Vec<&str> = two.heredocs.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert!(cf.instructions()[4].heredocs.is_empty());
    assert_eq!(final_base(HEREDOCS).as_deref(), Some("debian:12-slim"));
    let out = set_final_base(HEREDOCS, NEW).unwrap();
    assert_eq!(
        out,
        HEREDOCS.replace("FROM debian:12-slim", &format!("FROM {NEW}"))
    );
}

#[test]
fn unterminated_heredoc() {
    let text = "FROM debian:12\nRUN <<EOF\necho hi\nEOF \n";
    let (line, col, kind) = err_kind(text);
    assert_eq!((line, col), (2, 5));
    assert_eq!(kind, ParseErrorKind::UnterminatedHeredoc("EOF".into()));
    assert_eq!(
        parse(text).unwrap_err().to_string(),
        "line 2, column 5: unterminated heredoc `EOF`: no line closes it before the end of the file"
    );
}

const CRLF: &str = "# syntax=docker/dockerfile:1\r\nARG DEBIAN=12\r\nFROM debian:${DEBIAN}-slim AS runtime\r\nRUN apt-get update \\\r\n    && apt-get install -y --no-install-recommends ca-certificates \\\r\n    && rm -rf /var/lib/apt/lists/*\r\nUSER 1000\r\n";

#[test]
fn crlf_line_endings() {
    let cf = parse(CRLF).unwrap();
    assert_eq!(cf.instructions().len(), 4);
    assert_eq!(
        cf.instructions()[2].logical,
        "RUN apt-get update     && apt-get install -y --no-install-recommends ca-certificates     && rm -rf /var/lib/apt/lists/*"
    );
    assert_eq!(final_base(CRLF).as_deref(), Some("debian:12-slim"));
    let out = set_final_base(CRLF, NEW).unwrap();
    assert_eq!(out, CRLF.replace("debian:${DEBIAN}-slim", NEW));
    // After the last RUN (its continuation lines included); `USER 1000` comes after it,
    // so no wrapping is needed.
    let out = insert_upgrade_step(CRLF, "apt-get install --only-upgrade -y openssl").unwrap();
    assert_eq!(
        out,
        CRLF.replace(
            "/var/lib/apt/lists/*\r\n",
            "/var/lib/apt/lists/*\r\nRUN apt-get install --only-upgrade -y openssl\r\n"
        )
    );
}

const CONTINUED_FROM: &str = "FROM \\
  # the enterprise base, pinned by the platform team
  --platform=linux/amd64 \\

  registry.local/ent/base:1.4.2 \\
  AS final
# tools
RUN apt-get update && \\
    # curl for the health check
    apt-get install -y curl \\
    && rm -rf /var/lib/apt/lists/*
";

#[test]
fn comments_between_continuation_lines() {
    let cf = parse(CONTINUED_FROM).unwrap();
    let st = &cf.stages()[0];
    assert_eq!(st.name.as_deref(), Some("final"));
    assert_eq!(st.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(st.base, "registry.local/ent/base:1.4.2");
    assert_eq!((st.line, st.column), (5, 3));
    assert_eq!(
        cf.instructions()[1].logical,
        "RUN apt-get update &&     apt-get install -y curl     && rm -rf /var/lib/apt/lists/*"
    );
    let out = set_final_base(CONTINUED_FROM, NEW).unwrap();
    assert_eq!(
        out,
        CONTINUED_FROM.replace("registry.local/ent/base:1.4.2", NEW)
    );
    let out =
        insert_upgrade_step(CONTINUED_FROM, "apt-get install --only-upgrade -y libssl3").unwrap();
    assert_eq!(
        out,
        format!("{CONTINUED_FROM}RUN apt-get install --only-upgrade -y libssl3\n")
    );
}

#[test]
fn no_final_newline_and_bom() {
    let text = "\u{feff}FROM alpine:3.20";
    assert_eq!(final_base(text).as_deref(), Some("alpine:3.20"));
    assert_eq!(
        set_final_base(text, "alpine:3.20.3").unwrap(),
        "\u{feff}FROM alpine:3.20.3"
    );
    assert_eq!(
        insert_upgrade_step(text, "apk upgrade --no-cache musl").unwrap(),
        "\u{feff}FROM alpine:3.20\nRUN apk upgrade --no-cache musl"
    );
    // A lone `\r` at the end is a line ending, not text (found by fuzzing).
    assert_eq!(
        insert_upgrade_step("FROM alpine\r", "true").unwrap(),
        "FROM alpine\r\nRUN true"
    );
    assert_eq!(
        insert_upgrade_step("FROM `\\\r", "true").unwrap_err(),
        EditError::DanglingContinuation { line: 1 }
    );
    // A FROM whose continuation runs into the end of the file cannot take a line after it.
    let text = "FROM alpine:3.20 \\\n";
    assert_eq!(
        insert_upgrade_step(text, "true").unwrap_err(),
        EditError::DanglingContinuation { line: 1 }
    );
}

#[test]
fn image_word_split_by_a_continuation_is_refused() {
    let text = "FROM debian:\\\n12\n";
    assert_eq!(final_base(text).as_deref(), Some("debian:12"));
    assert_eq!(
        set_final_base(text, NEW).unwrap_err(),
        EditError::SplitToken {
            line: 1,
            what: "FROM image"
        }
    );
}

#[test]
fn bad_references_and_steps_are_refused() {
    let text = "FROM debian:12\n";
    assert!(matches!(
        set_final_base(text, "a b"),
        Err(EditError::InvalidReference(..))
    ));
    assert!(matches!(
        set_final_base(text, ""),
        Err(EditError::InvalidReference(..))
    ));
    assert!(matches!(
        set_final_base(text, "x:${Y}"),
        Err(EditError::InvalidReference(..))
    ));
    assert!(matches!(
        insert_upgrade_step(text, "a\nFROM evil"),
        Err(EditError::InvalidStep(..))
    ));
    assert!(matches!(
        insert_upgrade_step("RUN x\n", "a"),
        Err(EditError::Parse(_))
    ));
}

#[test]
fn parse_errors_name_line_column_and_problem() {
    let cases: Vec<(&str, usize, usize, ParseErrorKind)> = vec![
        ("", 1, 1, ParseErrorKind::Empty),
        ("# only a comment\n\n", 3, 1, ParseErrorKind::Empty),
        ("ARG X=1\n", 1, 8, ParseErrorKind::NoFrom),
        ("FROM\n", 1, 5, ParseErrorKind::FromWithoutImage),
        (
            "FROM --platform=linux/amd64\n",
            1,
            28,
            ParseErrorKind::FromWithoutImage,
        ),
        (
            "ARG B=debian\nFROM --pull=always ${B}\n",
            2,
            6,
            ParseErrorKind::UnknownFlag {
                instruction: "FROM".into(),
                flag: "--pull".into(),
            },
        ),
        (
            "FROM --platform debian\n",
            1,
            6,
            ParseErrorKind::MissingFlagValue("--platform".into()),
        ),
        ("ARG B=x\nFROM ${B\n", 2, 6, ParseErrorKind::UnbalancedBrace),
        (
            "FROM debian:${V:-12\n",
            1,
            13,
            ParseErrorKind::UnbalancedBrace,
        ),
        (
            "FROM a:${}\n",
            1,
            8,
            ParseErrorKind::BadSubstitution("${}".into()),
        ),
        (
            "FROM a:${V#x}\n",
            1,
            8,
            ParseErrorKind::UnsupportedSubstitution("${V#".into()),
        ),
        (
            "ARG B=\"debian\nFROM x\n",
            1,
            5,
            ParseErrorKind::UnterminatedQuote,
        ),
        (
            "FORM debian:12\n",
            1,
            1,
            ParseErrorKind::UnknownInstruction("FORM".into()),
        ),
        (
            "  RUN apt-get update\nFROM debian\n",
            1,
            3,
            ParseErrorKind::InstructionBeforeFrom("RUN".into()),
        ),
        ("FROM a AS b c\n", 1, 6, ParseErrorKind::FromArguments(4)),
        ("FROM a b\n", 1, 6, ParseErrorKind::FromArguments(2)),
        (
            "FROM a IS b\n",
            1,
            8,
            ParseErrorKind::ExpectedAs("IS".into()),
        ),
        (
            "FROM a AS 1st\n",
            1,
            11,
            ParseErrorKind::InvalidStageName("1st".into()),
        ),
        (
            "FROM a AS x\nFROM b AS X\n",
            2,
            11,
            ParseErrorKind::DuplicateStageName("X".into()),
        ),
        (
            "# escape=x\nFROM a\n",
            1,
            1,
            ParseErrorKind::InvalidEscape("x".into()),
        ),
        (
            "# escape=`\n# escape=\\\nFROM a\n",
            2,
            1,
            ParseErrorKind::DuplicateDirective("escape".into()),
        ),
        ("FROM a\nARG\n", 2, 4, ParseErrorKind::ArgWithoutName),
    ];
    for (text, line, column, kind) in cases {
        let e = parse(text).map(|_| ()).unwrap_err();
        assert_eq!(
            (e.line, e.column, &e.kind),
            (line, column, &kind),
            "for {text:?}: {e}"
        );
    }
    assert_eq!(
        parse("FROM alpine\nFROM ${BASE\n").unwrap_err().to_string(),
        "line 2, column 6: unbalanced `${`: no closing `}`"
    );
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "line 1, column 1: empty Containerfile: no instructions"
    );
}

#[test]
fn onbuild_and_lowercase_keywords() {
    let text = "from debian:12 as Base\nonbuild run <<EOF\nFROM x\nEOF\nfrom base\n";
    let cf = parse(text).unwrap();
    assert_eq!(cf.stages().len(), 2);
    assert_eq!(cf.stages()[1].base_stage, Some(0));
    assert_eq!(final_base(text).as_deref(), Some("debian:12"));
}

#[test]
fn both_edits_together() {
    let text = "ARG BASE=debian:12\nFROM ${BASE} AS app\nRUN make\n";
    let cf = parse(text).unwrap();
    let edits = [
        cf.final_base_edit(NEW).unwrap(),
        cf.upgrade_step_edit("apt-get install --only-upgrade -y libc6")
            .unwrap(),
    ];
    let out = patchline_lineage::containerfile::apply_edits(text, &edits).unwrap();
    assert_eq!(
        out,
        format!("ARG BASE={NEW}\nFROM ${{BASE}} AS app\nRUN make\nRUN apt-get install --only-upgrade -y libc6\n")
    );
}

#[test]
fn upgrade_step_follows_the_install_it_upgrades() {
    // The stage installs curl itself: the upgrade must run after that install, and its
    // `rm -rf /var/lib/apt/lists/*` must not precede an `apt-get install` without update.
    let text = "FROM debian:12
RUN apt-get update && apt-get install -y curl
COPY app /app
RUN apt-get install -y --no-install-recommends jq
CMD [\"/app\"]
";
    let cf = parse(text).unwrap();
    let edit = cf
        .upgrade_step_edit("apt-get update && apt-get install --only-upgrade -y curl")
        .unwrap();
    assert_eq!(edit.target, EditTarget::AfterRun { stage: 0, line: 4 });
    assert_eq!(edit.note, None);
    assert_eq!(
        edit.apply(text),
        "FROM debian:12
RUN apt-get update && apt-get install -y curl
COPY app /app
RUN apt-get install -y --no-install-recommends jq
RUN apt-get update && apt-get install --only-upgrade -y curl
CMD [\"/app\"]
"
    );
    // A heredoc body is part of its RUN: the step goes after the terminator.
    let text = "FROM alpine:3.20\nRUN <<EOF\napk add curl\nEOF\nENTRYPOINT [\"curl\"]\n";
    assert_eq!(
        insert_upgrade_step(text, "apk upgrade --no-cache curl").unwrap(),
        "FROM alpine:3.20\nRUN <<EOF\napk add curl\nEOF\nRUN apk upgrade --no-cache curl\nENTRYPOINT [\"curl\"]\n"
    );
}

#[test]
fn upgrade_step_is_wrapped_when_a_non_root_user_is_in_effect() {
    let text = "FROM debian:12\r\nUSER app:app\r\nRUN make install\r\nCMD [\"app\"]\r\n";
    let cf = parse(text).unwrap();
    let edit = cf.upgrade_step_edit("apt-get upgrade -y").unwrap();
    assert!(edit
        .note
        .as_deref()
        .unwrap()
        .contains("USER app:app (line 2)"));
    assert_eq!(
        edit.apply(text),
        "FROM debian:12\r\nUSER app:app\r\nRUN make install\r\nUSER root\r\nRUN apt-get upgrade -y\r\nUSER app:app\r\nCMD [\"app\"]\r\n"
    );
    // The user is inherited from the stage the final stage is built on.
    let text = "FROM debian:12 AS base\nUSER 10001\nFROM base\nCOPY a /a\n";
    assert_eq!(
        insert_upgrade_step(text, "true").unwrap(),
        "FROM debian:12 AS base\nUSER 10001\nFROM base\nUSER root\nRUN true\nUSER 10001\nCOPY a /a\n"
    );
    // Root (by name or id, with a group or not) needs no wrapping; nor does a USER that
    // comes after the insertion point.
    for user in ["root", "0", "root:root", "0:0"] {
        let text = format!("FROM debian:12\nUSER {user}\nRUN make\nUSER app\n");
        assert_eq!(
            insert_upgrade_step(&text, "true").unwrap(),
            format!("FROM debian:12\nUSER {user}\nRUN make\nRUN true\nUSER app\n")
        );
    }
    // A user switched back to root before the last RUN needs none either.
    let text = "FROM debian:12\nUSER app\nRUN a\nUSER root\nRUN b\n";
    assert_eq!(
        insert_upgrade_step(text, "true").unwrap(),
        format!("{text}RUN true\n")
    );
}

#[test]
fn upgrade_step_goes_after_from_when_the_final_stage_has_no_run() {
    // The builder stage's RUN is not in the final stage.
    let text = "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12\nCOPY --from=build /app /app\nUSER app\nCMD [\"/app\"]\n";
    let cf = parse(text).unwrap();
    let edit = cf.upgrade_step_edit("true").unwrap();
    assert_eq!(edit.target, EditTarget::AfterFrom { stage: 1, line: 3 });
    assert_eq!(edit.note, None);
    assert_eq!(
        edit.apply(text),
        text.replace("FROM debian:12\n", "FROM debian:12\nRUN true\n")
    );
    // A RUN whose continuation runs into the end of the file cannot take a line after it.
    assert_eq!(
        insert_upgrade_step("FROM debian:12\nRUN a \\\n", "true").unwrap_err(),
        EditError::DanglingContinuation { line: 2 }
    );
}

// ---------------------------------------------------------------------------------------
// Properties

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("# a comment\n".to_string()),
        Just("\n".to_string()),
        Just("   \t\n".to_string()),
        Just("RUN apt-get update && \\\n    # note\n    apt-get install -y curl\n".to_string()),
        Just("RUN <<EOF\nFROM inside:heredoc\nEOF\n".to_string()),
        Just("COPY --from=build /a /b\n".to_string()),
        Just("ENV A=1 \\\n\n    B=2\n".to_string()),
        Just("ARG INNER=x\n".to_string()),
        Just("USER 1000\r\n".to_string()),
        Just("LABEL a=\"b c\"\n".to_string()),
    ]
}

fn from_line() -> impl Strategy<Value = String> {
    let image = prop_oneof![
        Just("debian:12".to_string()),
        Just("${BASE}".to_string()),
        Just("$BASE".to_string()),
        Just("python:${PY}-slim".to_string()),
        Just("build".to_string()),
        Just("scratch".to_string()),
        Just("a:${NOPE:?}".to_string()),
        Just("registry.local:5000/team/app:1.4.2@sha256:00".to_string()),
    ];
    let platform = prop_oneof![
        Just(String::new()),
        Just("--platform=$BUILDPLATFORM ".to_string()),
        Just("--platform=linux/arm64 \\\n  ".to_string()),
    ];
    let name = prop_oneof![
        Just(String::new()),
        Just(" AS build".to_string()),
        Just(" as final".to_string()),
        Just(" \\\n  # c\n  AS other".to_string()),
    ];
    let eol = prop_oneof![Just("\n"), Just("\r\n"), Just("  \n")];
    (platform, image, name, eol).prop_map(|(p, i, n, e)| format!("FROM  {p}{i}{n}{e}"))
}

fn containerfile() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just(String::new()),
        Just("# syntax=docker/dockerfile:1\n".to_string()),
        Just("ARG BASE=debian:12\nARG PY=3.12\n".to_string()),
        Just("# syntax=docker/dockerfile:1\nARG BASE=\"alpine:3.20\"\n# comment\n".to_string()),
    ];
    (
        header,
        prop::collection::vec((from_line(), prop::collection::vec(fragment(), 0..4)), 1..4),
        any::<bool>(),
    )
        .prop_map(|(h, stages, trim)| {
            let mut s = h;
            for (f, frags) in stages {
                s.push_str(&f);
                for fr in frags {
                    s.push_str(&fr);
                }
            }
            if trim {
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn base_edit_changes_only_its_span(text in containerfile()) {
        let Ok(cf) = parse(&text) else { return Ok(()) };
        match cf.final_base_edit(NEW) {
            Ok(edit) => {
                let out = edit.apply(&text);
                prop_assert_eq!(&out[..edit.span.start], &text[..edit.span.start]);
                prop_assert_eq!(&out[edit.span.start + NEW.len()..], &text[edit.span.end..]);
                prop_assert_eq!(&out[edit.span.start..edit.span.start + NEW.len()], NEW);
                let again = parse(&out).unwrap();
                prop_assert_eq!(again.final_base(&BuildArgs::new()).unwrap().map(|r| r.0), Some(NEW.to_string()));
                prop_assert_eq!(again.instructions().len(), cf.instructions().len());
            }
            Err(EditError::Scratch { .. }) => {
                prop_assert!(cf.stages()[cf.final_base_stage()].scratch);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn step_insert_changes_nothing_else(text in containerfile()) {
        let Ok(cf) = parse(&text) else { return Ok(()) };
        let Ok(edit) = cf.upgrade_step_edit("apk upgrade --no-cache musl") else {
            let last = cf.stages().last().unwrap();
            prop_assert!(cf.instructions()[last.instruction].dangling_continuation);
            return Ok(());
        };
        prop_assert_eq!(edit.span.start, edit.span.end);
        let out = edit.apply(&text);
        let at = edit.span.start;
        prop_assert_eq!(&out[..at], &text[..at]);
        prop_assert_eq!(&out[at + edit.replacement.len()..], &text[at..]);
        let again = parse(&out).unwrap();
        // One RUN, or USER root + RUN + USER <previous>.
        let added = edit.replacement.split(['\r', '\n']).filter(|l| !l.is_empty()).count();
        prop_assert_eq!(added, if edit.note.is_some() { 3 } else { 1 });
        prop_assert_eq!(again.instructions().len(), cf.instructions().len() + added);
        let last = again.stages().last().unwrap().instruction;
        let kws: Vec<&str> = again.instructions()[last..].iter().map(|i| i.keyword.as_str()).collect();
        let run_at = kws.iter().rposition(|k| *k == "RUN").unwrap();
        let ins = &again.instructions()[last + run_at];
        prop_assert_eq!(&ins.logical, "RUN apk upgrade --no-cache musl");
        if added == 3 {
            prop_assert_eq!(&again.instructions()[last + run_at - 1].logical, "USER root");
            prop_assert_eq!(again.instructions()[last + run_at + 1].keyword.as_str(), "USER");
        }
        prop_assert_eq!(again.stages().len(), cf.stages().len());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\t\r\n`\\\\$]{0,200}") {
        if let Ok(cf) = parse(&text) {
            let _ = cf.final_base(&BuildArgs::new());
            let _ = cf.build_time_inputs(&BuildArgs::new());
            if let Ok(e) = cf.final_base_edit(NEW) {
                let out = e.apply(&text);
                prop_assert_eq!(&out[..e.span.start], &text[..e.span.start]);
            }
            let _ = cf.upgrade_step_edit("true");
        }
    }

    #[test]
    fn generated_fragments_parse(text in containerfile()) {
        // Every generated file is valid except when two stages share a name.
        if let Err(e) = parse(&text) {
            prop_assert!(matches!(e.kind, ParseErrorKind::DuplicateStageName(_)), "{e}");
        }
    }
}
