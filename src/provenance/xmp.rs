//! XMP: the creator tool, the edit history (`xmpMM:History`) and the IPTC digital source type,
//! from the XMP packet wherever the container keeps it (JPEG APP1, PNG iTXt, TIFF, WebP), parsed
//! with `roxmltree` (no DTDs, bounded node count).

use roxmltree::{Document, Node, ParsingOptions};
use serde::Serialize;

/// Largest XMP packet parsed.
const MAX_PACKET: usize = 2 << 20;
/// Most XML nodes parsed in one packet.
const MAX_NODES: u32 = 100_000;
/// Most history events kept.
const MAX_EVENTS: usize = 200;
/// Longest value kept.
const MAX_TEXT: usize = 512;

const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
const NS_XMP_MM: &str = "http://ns.adobe.com/xap/1.0/mm/";
const NS_EVENT: &str = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#";
const NS_IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";

/// XMP facts, each present only when the packet has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct XmpFacts {
    /// `xmp:CreatorTool`: the application that made the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_tool: Option<String>,
    /// `xmp:CreateDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `xmp:ModifyDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// IPTC digital source type (`Iptc4xmpExt:DigitalSourceType`), e.g.
    /// `…/digitalsourcetype/trainedAlgorithmicMedia`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    /// `xmpMM:History`: what was done to the file, by what, when.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEvent>,
}

/// One `stEvt` entry of `xmpMM:History`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// created, saved, converted, derived, edited, …
    pub action: String,
    /// The software that did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// What changed (`stEvt:changed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
}

/// Finds and parses the XMP packet; `Ok(None)` when the file has none.
pub(super) fn read(bytes: &[u8]) -> Result<Option<XmpFacts>, String> {
    let Some(start) = find(bytes, b"<x:xmpmeta").or_else(|| find(bytes, b"<x:xapmeta")) else {
        return Ok(None);
    };
    let rest = &bytes[start..];
    let Some(end) = find(rest, b"</x:xmpmeta>")
        .map(|e| e + "</x:xmpmeta>".len())
        .or_else(|| find(rest, b"</x:xapmeta>").map(|e| e + "</x:xapmeta>".len()))
    else {
        return Err("packet is not closed (truncated or malformed)".into());
    };
    if end > MAX_PACKET {
        return Err(format!(
            "packet of {end} bytes is over the {MAX_PACKET}-byte limit, not read"
        ));
    }
    let text = std::str::from_utf8(&rest[..end]).map_err(|_| "packet is not UTF-8".to_string())?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc =
        Document::parse_with_options(text, options).map_err(|e| format!("malformed ({e})"))?;
    Ok(Some(XmpFacts {
        creator_tool: value(&doc, NS_XMP, "CreatorTool"),
        created: value(&doc, NS_XMP, "CreateDate"),
        modified: value(&doc, NS_XMP, "ModifyDate"),
        digital_source_type: value(&doc, NS_IPTC_EXT, "DigitalSourceType")
            .or_else(|| value(&doc, NS_PHOTOSHOP, "DigitalSourceType")),
        history: history(&doc),
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn clip(s: &str) -> Option<String> {
    let s: String = s.trim().chars().take(MAX_TEXT).collect();
    (!s.is_empty()).then_some(s)
}

/// A property as an attribute of any element, or as an element's own text (or its
/// `rdf:Alt`/`rdf:Seq` first item's).
fn value(doc: &Document, ns: &str, name: &str) -> Option<String> {
    doc.descendants().find_map(|node| {
        if !node.is_element() {
            return None;
        }
        if let Some(v) = node.attribute((ns, name)) {
            return clip(v);
        }
        if node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name {
            return element_text(node);
        }
        None
    })
}

/// An element's text, or the first `rdf:li` text below it.
fn element_text(node: Node) -> Option<String> {
    node.text().and_then(clip).or_else(|| {
        node.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "li")
            .find_map(|li| li.text().and_then(clip))
    })
}

/// A `stEvt` field of one history item, as an attribute or a child element.
fn event_field(li: Node, name: &str) -> Option<String> {
    li.attribute((NS_EVENT, name)).and_then(clip).or_else(|| {
        li.children()
            .find(|c| c.tag_name().namespace() == Some(NS_EVENT) && c.tag_name().name() == name)
            .and_then(|c| c.text().and_then(clip))
    })
}

fn history(doc: &Document) -> Vec<HistoryEvent> {
    let Some(history) = doc.descendants().find(|n| {
        n.is_element()
            && n.tag_name().namespace() == Some(NS_XMP_MM)
            && n.tag_name().name() == "History"
    }) else {
        return Vec::new();
    };
    history
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "li")
        .filter_map(|li| {
            Some(HistoryEvent {
                action: event_field(li, "action")?,
                software_agent: event_field(li, "softwareAgent"),
                when: event_field(li, "when"),
                changed: event_field(li, "changed"),
            })
        })
        .take(MAX_EVENTS)
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `jpeg` with an APP1 segment carrying `payload` inserted after SOI.
    pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len() + 2).expect("segment fits");
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    /// An XMP packet as Photoshop and generators write it.
    pub fn packet(source_type: &str) -> String {
        format!(
            r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}">
<xmpMM:History><rdf:Seq>
 <rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Firefly" stEvt:when="2024-01-02T03:04:05Z"/>
 <rdf:li><stEvt:action>saved</stEvt:action><stEvt:softwareAgent>Adobe Photoshop 25.0</stEvt:softwareAgent><stEvt:changed>/</stEvt:changed></rdf:li>
</rdf:Seq></xmpMM:History>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#
        )
    }

    #[test]
    fn reads_tool_history_and_source_type() {
        let xmp = packet("trainedAlgorithmicMedia");
        let mut bytes = b"\xFF\xD8 anything ".to_vec();
        bytes.extend_from_slice(xmp.as_bytes());
        let facts = read(&bytes).unwrap().unwrap();
        assert_eq!(
            facts.creator_tool.as_deref(),
            Some("Adobe Photoshop 25.0 (Windows)")
        );
        assert!(
            facts
                .digital_source_type
                .unwrap()
                .ends_with("trainedAlgorithmicMedia")
        );
        assert_eq!(facts.history.len(), 2);
        assert_eq!(facts.history[0].action, "created");
        assert_eq!(
            facts.history[1].software_agent.as_deref(),
            Some("Adobe Photoshop 25.0")
        );
    }

    #[test]
    fn hostile_packets_give_notes() {
        assert!(read(b"no xmp here").unwrap().is_none());
        assert!(read(b"<x:xmpmeta never closed").is_err());
        let dtd = "<x:xmpmeta><!DOCTYPE x [<!ENTITY a \"aaaa\">]>&a;</x:xmpmeta>";
        assert!(read(dtd.as_bytes()).is_err());
        // Deep nesting: parsed without recursion, or refused; never a crash.
        let depth = 50_000;
        let mut deep = String::from("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">");
        deep.push_str(&"<a>".repeat(depth));
        deep.push_str(&"</a>".repeat(depth));
        deep.push_str("</x:xmpmeta>");
        let _ = read(deep.as_bytes());
    }
}
