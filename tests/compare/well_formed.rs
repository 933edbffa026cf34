//! A small HTML well-formedness check for the compare report: every tag closes in
//! order, void elements stand alone, attribute quotes pair up, and text holds no bare
//! `<`, `>` or `&` that is not an entity, so unescaped model output would fail it.

const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

/// `Ok` when `html` is well formed; otherwise where and why not.
pub fn check(html: &str) -> Result<(), String> {
    let body = html
        .strip_prefix("<!DOCTYPE html>")
        .ok_or("no <!DOCTYPE html> first")?;
    let mut open: Vec<String> = Vec::new();
    let mut rest = body;
    let mut offset = html.len() - body.len();
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt], offset)?;
        let tag_end = rest[lt..]
            .find('>')
            .ok_or(format!("byte {}: tag never closes", offset + lt))?;
        let tag = &rest[lt + 1..lt + tag_end];
        let mut next = lt + tag_end + 1;
        if tag.matches('"').count() % 2 != 0 {
            return Err(format!("byte {}: unpaired quote in <{tag}>", offset + lt));
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            match open.pop() {
                Some(top) if top == name => {}
                other => return Err(format!("byte {}: </{name}> closes {other:?}", offset + lt)),
            }
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if name.is_empty() {
                return Err(format!("byte {}: `<` starts no tag", offset + lt));
            }
            let self_closing = tag.ends_with('/');
            if !self_closing && !VOID.contains(&name.as_str()) {
                if name == "style" || name == "script" {
                    let close = format!("</{name}>");
                    let raw_end = rest[next..]
                        .find(&close)
                        .ok_or(format!("<{name}> never closes"))?;
                    next += raw_end + close.len();
                } else {
                    open.push(name);
                }
            }
        }
        offset += next;
        rest = &rest[next..];
    }
    check_text(rest, offset)?;
    match open.last() {
        Some(name) => Err(format!("<{name}> never closes")),
        None => Ok(()),
    }
}

fn check_text(text: &str, offset: usize) -> Result<(), String> {
    if let Some(i) = text.find('>') {
        return Err(format!("byte {}: bare `>` in text", offset + i));
    }
    for (i, _) in text.match_indices('&') {
        let entity: String = text[i + 1..].chars().take_while(|c| *c != ';').collect();
        let named = !entity.is_empty() && entity.chars().all(|c| c.is_ascii_alphabetic());
        let numeric = entity
            .strip_prefix('#')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !(named || numeric) || text[i + 1..].find(';').is_none() {
            return Err(format!("byte {}: bare `&` in text", offset + i));
        }
    }
    Ok(())
}

#[test]
fn the_check_catches_what_it_must() {
    let page = |body: &str| format!("<!DOCTYPE html><html><body>{body}</body></html>");
    assert!(check(&page("<p>a &amp; b<br><svg><rect/></svg></p>")).is_ok());
    assert!(check(&page("<p>a <b>x</p></b>")).is_err());
    assert!(check(&page("<p>a & b</p>")).is_err());
    assert!(check(&page("<p>1 > 0</p>")).is_err());
    assert!(check(&page("<p>x < y</p>")).is_err());
    assert!(check(&page("<p>")).is_err());
}
