//! Just enough POSIX shell to read the commands of a `RUN`: which simple commands run,
//! in which pipelines, with which words (quotes removed).
//!
//! The lint needs command *names and arguments* (`apt-get install … --no-install-recommends`,
//! `curl … | sh`, `rm -rf /var/lib/apt/lists/*`), not a full shell. So this splits a script
//! on the list operators (`&&`, `||`, `;`, `&`, newlines, `(`, `)`) into pipelines, and
//! pipelines on `|` / `|&` into simple commands; quoting follows the shell (single quotes
//! literal, double quotes with `\` escapes, backslash-newline joins lines), `#` at the start
//! of a word comments out the rest of the line, and `$(…)`, `` `…` ``, `<(…)` stay inside
//! their word (their text is kept so a caller can read them as scripts themselves).
//! Reserved words that only introduce commands (`if`, `then`, `do`, `!`, `{` …) are dropped
//! from the front of a command. Nothing is expanded: `$VAR` stays as written. Redirection
//! operators stay words (`2>&1` is one word, not a background `&`).

/// One simple command: its words with quotes removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Command {
    pub words: Vec<String>,
}

/// Commands joined by `|`.
pub(crate) type Pipeline = Vec<Command>;

/// Reserved words that only start a compound command or negate one.
const LEADING_RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "fi", "done", "esac",
];

/// Splits `script` into pipelines of simple commands (empty commands dropped).
pub(crate) fn parse(script: &str) -> Vec<Pipeline> {
    let mut p = Parser {
        chars: script.chars().collect(),
        pos: 0,
        out: Vec::new(),
        pipeline: Vec::new(),
        words: Vec::new(),
        word: String::new(),
        in_word: false,
    };
    p.run();
    p.out
}

/// Splits a line into words the way a Containerfile's `ENV` / `ARG` / exec arguments are
/// split: blanks separate, quotes group and are removed, backslash escapes.
pub(crate) fn words(line: &str) -> Vec<String> {
    parse(line)
        .into_iter()
        .flatten()
        .flat_map(|c| c.words)
        .collect()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    out: Vec<Pipeline>,
    pipeline: Pipeline,
    words: Vec<String>,
    word: String,
    in_word: bool,
}

impl Parser {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn end_word(&mut self) {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        let mut words = std::mem::take(&mut self.words);
        let lead = words
            .iter()
            .take_while(|w| LEADING_RESERVED.contains(&w.as_str()))
            .count();
        words.drain(..lead);
        if !words.is_empty() {
            self.pipeline.push(Command { words });
        }
    }

    fn end_pipeline(&mut self) {
        self.end_command();
        if !self.pipeline.is_empty() {
            self.out.push(std::mem::take(&mut self.pipeline));
        }
    }

    fn push(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }

    /// Copies a `$(…)` / `<(…)` / `` `…` `` group into the current word, the opening
    /// characters already consumed; nested parentheses and quotes are followed.
    fn group(&mut self, close: char) {
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            self.push(c);
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') | (None, '\\') => {
                    if let Some(n) = self.peek(0) {
                        self.pos += 1;
                        self.push(n);
                    }
                }
                (Some(_), _) => {}
                (None, '\'' | '"') if close != '`' => quote = Some(c),
                (None, '(') if close == ')' => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\r' => {
                    self.pos += 1;
                    self.end_word();
                }
                '\n' | ';' | '(' | ')' => {
                    self.pos += 1;
                    self.end_pipeline();
                }
                '&' => {
                    // `2>&1`, `>&2`: part of a redirection word.
                    if self.word.ends_with(['>', '<']) {
                        self.pos += 1;
                        self.push(c);
                    } else {
                        self.pos += if self.peek(1) == Some('&') { 2 } else { 1 };
                        self.end_pipeline();
                    }
                }
                '|' => {
                    if self.peek(1) == Some('|') {
                        self.pos += 2;
                        self.end_pipeline();
                    } else {
                        self.pos += if self.peek(1) == Some('&') { 2 } else { 1 };
                        self.end_command();
                    }
                }
                '#' if !self.in_word => {
                    while let Some(n) = self.peek(0) {
                        if n == '\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek(0) {
                        Some('\n') => self.pos += 1,
                        Some('\r') if self.peek(1) == Some('\n') => self.pos += 2,
                        Some(n) => {
                            self.pos += 1;
                            self.push(n);
                        }
                        None => {}
                    }
                }
                '\'' => {
                    self.pos += 1;
                    self.in_word = true;
                    while let Some(n) = self.peek(0) {
                        self.pos += 1;
                        if n == '\'' {
                            break;
                        }
                        self.word.push(n);
                    }
                }
                '"' => {
                    self.pos += 1;
                    self.in_word = true;
                    while let Some(n) = self.peek(0) {
                        self.pos += 1;
                        match n {
                            '"' => break,
                            '\\' => match self.peek(0) {
                                Some('\n') => self.pos += 1,
                                Some(e @ ('"' | '\\' | '$' | '`')) => {
                                    self.pos += 1;
                                    self.word.push(e);
                                }
                                _ => self.word.push('\\'),
                            },
                            '$' if self.peek(0) == Some('(') => {
                                self.pos += 1;
                                self.push('$');
                                self.push('(');
                                self.group(')');
                            }
                            '`' => {
                                self.push('`');
                                self.group('`');
                            }
                            _ => self.word.push(n),
                        }
                    }
                }
                '$' | '<' if self.peek(1) == Some('(') => {
                    self.pos += 2;
                    self.push(c);
                    self.push('(');
                    self.group(')');
                }
                '`' => {
                    self.pos += 1;
                    self.push('`');
                    self.group('`');
                }
                _ => {
                    self.pos += 1;
                    self.push(c);
                }
            }
        }
        self.end_pipeline();
    }
}

/// The scripts inside `$(…)`, `<(…)` and `` `…` `` groups of a word.
pub(crate) fn substitutions(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let (open, close) = match (b[i], b.get(i + 1)) {
            ('$' | '<', Some('(')) => (2, ')'),
            ('`', _) => (1, '`'),
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i + open;
        let mut depth = 1usize;
        let mut j = start;
        while j < b.len() {
            match b[j] {
                '(' if close == ')' => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        out.push(b[start..j.min(b.len())].iter().collect());
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .into_iter()
            .map(|p| p.into_iter().map(|c| c.words[0].clone()).collect())
            .collect()
    }

    #[test]
    fn lists_and_pipelines() {
        assert_eq!(
            names("set -eux; apt-get update && apt-get install -y x || true\ncurl -fsSL u | sh -s -- -y"),
            [
                vec!["set"],
                vec!["apt-get"],
                vec!["apt-get"],
                vec!["true"],
                vec!["curl", "sh"]
            ]
        );
    }

    #[test]
    fn quotes_escapes_continuations_comments() {
        let p = parse("echo 'a | b' \"c && $HOME\" d\\ e \\\n  f # g | sh\nls");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0][0].words, ["echo", "a | b", "c && $HOME", "d e", "f"]);
        assert_eq!(p[1][0].words, ["ls"]);
    }

    #[test]
    fn redirections_are_not_background() {
        let p = parse("make 2>&1 >/dev/null | tee log");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0][0].words, ["make", "2>&1", ">/dev/null"]);
    }

    #[test]
    fn substitutions_stay_in_their_word() {
        let p = parse("sh -c \"$(curl -fsSL https://x/install.sh | tr a b)\"; bash <(wget -qO- u)");
        assert_eq!(
            p[0][0].words[2],
            "$(curl -fsSL https://x/install.sh | tr a b)"
        );
        assert_eq!(
            substitutions(&p[0][0].words[2]),
            ["curl -fsSL https://x/install.sh | tr a b"]
        );
        assert_eq!(substitutions(&p[1][0].words[1]), ["wget -qO- u"]);
    }

    #[test]
    fn reserved_words_are_dropped() {
        assert_eq!(
            names("if [ -f x ]; then apt-get install -y y; fi"),
            [vec!["["], vec!["apt-get"]]
        );
    }
}
