//! Errors of policy, exceptions and ignore files: every problem with its file and line.

use std::fmt;

/// One problem in a file; `line` is 1-based, `None` when the parser could not place it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<u32>,
    pub message: String,
}

impl Problem {
    pub fn at(line: u32, message: impl Into<String>) -> Problem {
        Problem {
            line: (line > 0).then_some(line),
            message: message.into(),
        }
    }
}

/// A file that could not be read or is not valid: all its problems, each named
/// `FILE:LINE: message` when shown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The file as given.
    pub file: String,
    pub problems: Vec<Problem>,
}

impl PolicyError {
    pub fn new(file: impl Into<String>, line: Option<u32>, message: impl Into<String>) -> Self {
        PolicyError {
            file: file.into(),
            problems: vec![Problem {
                line,
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(l) => write!(f, "{}:{l}: {}", self.file, p.message)?,
                None => write!(f, "{}: {}", self.file, p.message)?,
            }
        }
        Ok(())
    }
}

/// The YAML parser's error as a [`Problem`]: its message without the parser's own
/// position suffix, and its line.
pub(crate) fn yaml_problem(e: &serde_saphyr::Error) -> Problem {
    let line = e.location().map(|l| l.line() as u32).filter(|&l| l > 0);
    let text = e.without_snippet().to_string();
    // The parser appends ` at line L column C`; the line is shown in front instead.
    let message = match text.find(" at line ") {
        Some(i) if line.is_some() => text[..i].to_string(),
        _ => text,
    };
    Problem {
        line,
        message: message.trim().to_string(),
    }
}
