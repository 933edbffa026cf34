//! Joining spm pieces back into text, as sentencepiece's `decode_pieces` does.

use super::{PieceKind, SpmModel, SPACE_MARK};

impl SpmModel {
    /// Joins pieces into text as spm's `decode_pieces` does: control pieces vanish,
    /// the unknown piece becomes its surface (` ⁇ `), byte pieces are reassembled
    /// into UTF-8, strings that are not pieces are kept as they are, and `▁` becomes a
    /// space except at the very start.
    pub fn decode_pieces<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        for piece in pieces {
            let piece = piece.as_ref();
            let kind = self.kind(piece);
            if kind == Some(PieceKind::Byte) {
                if let Some(byte) = parse_byte_piece(piece) {
                    bytes.push(byte);
                    continue;
                }
            }
            flush_bytes(&mut bytes, &mut text);
            match kind {
                Some(PieceKind::Control) => {}
                Some(PieceKind::Unknown) => text.push_str(&self.unk_surface),
                None => text.push_str(piece),
                Some(_) => {
                    let strip_leading =
                        text.is_empty() && (self.add_dummy_prefix || self.remove_extra_whitespaces);
                    let piece = if strip_leading {
                        piece.strip_prefix(SPACE_MARK).unwrap_or(piece)
                    } else {
                        piece
                    };
                    text.push_str(&piece.replace(SPACE_MARK, " "));
                }
            }
        }
        flush_bytes(&mut bytes, &mut text);
        text
    }
}

fn parse_byte_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// spm turns each byte of an invalid UTF-8 run into U+FFFD.
fn flush_bytes(bytes: &mut Vec<u8>, text: &mut String) {
    let mut rest: &[u8] = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                break;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = error.error_len().unwrap_or(after.len()).max(1);
                text.extend(std::iter::repeat_n('\u{FFFD}', bad));
                rest = &after[bad.min(after.len())..];
            }
        }
    }
    bytes.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_runs_decode_as_utf8_with_replacements_for_bad_bytes() {
        let mut text = String::new();
        let mut bytes = "ह".as_bytes().to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"a");
        flush_bytes(&mut bytes, &mut text);
        assert_eq!(text, "ह\u{FFFD}a");
        assert!(bytes.is_empty());
    }

    #[test]
    fn byte_pieces_parse_only_in_spm_form() {
        assert_eq!(parse_byte_piece("<0x0A>"), Some(10));
        assert_eq!(parse_byte_piece("<0xZZ>"), None);
        assert_eq!(parse_byte_piece("0x0A"), None);
    }
}
