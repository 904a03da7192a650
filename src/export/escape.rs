//! Text from files and folders (names, error messages) made safe for where it is written: a
//! terminal, a spreadsheet. A file name can hold anything but `/` and NUL: line breaks, terminal
//! control sequences, formula starts.

/// `text` with control characters written as escapes (`\n`, `\t`, `\r`, `\x1b`, `\u{9b}`), so
/// that a name cannot break a table's lines or send commands to the terminal.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A CSV field: quoted when it holds a comma, quote or line break, and with a `'` before a
/// leading `=`, `+`, `-`, `@`, tab or carriage return, so that a spreadsheet opening the file
/// shows the text instead of running it as a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(printable("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(printable("\u{1b}[2Jred"), "\\x1b[2Jred");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("plain é 字"), "plain é 字");
    }

    #[test]
    fn formula_starts_are_neutralised_and_separators_quoted() {
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("+a"), "'+a");
        assert_eq!(csv_field("-a"), "'-a");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            csv_field("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("photos/a.jpg"), "photos/a.jpg");
    }
}
