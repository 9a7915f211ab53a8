//! Reading vcrpy cassettes (the real Service Layer recordings): response bodies and headers.
//! The scalar rules are the ones sap-b1-client's recordings test uses.

/// The response bodies of a vcrpy cassette, in order (`string:` scalars, YAML-unquoted).
pub fn response_bodies(yaml: &str) -> Vec<String> {
    yaml.match_indices("      string: ")
        .map(|(i, m)| {
            let rest = &yaml[i + m.len()..];
            match rest.chars().next() {
                Some('\'') => single_quoted(&rest[1..]),
                Some('"') => double_quoted(&rest[1..]),
                _ => panic!("unexpected scalar style"),
            }
        })
        .collect()
}

fn fold_line_break<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>, out: &mut String) {
    while out.ends_with([' ', '\t']) {
        out.pop();
    }
    while matches!(chars.peek(), Some(' ' | '\t')) {
        chars.next();
    }
    out.push(' ');
}

fn single_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return out,
            '\n' => fold_line_break(&mut chars, &mut out),
            c => out.push(c),
        }
    }
    panic!("unterminated single-quoted scalar")
}

fn double_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next().expect("escape") {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                ' ' => out.push(' '),
                '\n' => {
                    while matches!(chars.peek(), Some(' ' | '\t')) {
                        chars.next();
                    }
                }
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next().unwrap()).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => panic!("unsupported escape \\{other}"),
            },
            '\n' => fold_line_break(&mut chars, &mut out),
            c => out.push(c),
        }
    }
    panic!("unterminated double-quoted scalar")
}

/// The values of one response header, per response, in order (`[REDACTED]` kept as is).
pub fn response_headers(yaml: &str, name: &str) -> Vec<Option<String>> {
    yaml.split("\n  response:\n")
        .skip(1)
        .map(|resp| {
            let key = format!("\n      {name}:\n      - ");
            resp.find(&key).map(|i| {
                let v = resp[i + key.len()..].lines().next().unwrap_or_default();
                v.trim_matches('\'').to_string()
            })
        })
        .collect()
}
