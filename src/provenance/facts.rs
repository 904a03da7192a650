//! The file's evidence as labelled lines, in the order people read them: the one list that the
//! app's File view and the HTML report both show.

use super::evidence::FileEvidence;

/// One labelled line.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// What it is ("camera", "software", …).
    pub label: &'static str,
    /// The value, as read (not escaped).
    pub value: String,
}

impl FileEvidence {
    /// Everything read from the file, one labelled line each; empty when the file says nothing.
    pub fn facts(&self) -> Vec<Fact> {
        let mut out = Vec::new();
        let mut add = |label: &'static str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push(Fact { label, value });
            }
        };
        if let Some(c) = &self.content_credentials {
            let mut v = format!("{} · {} manifest(s)", c.validation, c.manifests);
            if let Some(s) = &c.signer {
                v.push_str(&format!(" · signed by {s}"));
            }
            if let Some(i) = c.issuer.as_ref().filter(|i| Some(*i) != c.signer.as_ref()) {
                v.push_str(&format!(" (issuer {i})"));
            }
            if let Some(t) = &c.signed_at {
                v.push_str(&format!(" · {t}"));
            }
            add("C2PA", Some(v));
            add("C2PA claim generator", c.claim_generator.clone());
            let actions: Vec<String> = c
                .actions
                .iter()
                .map(|a| {
                    let mut s = a.action.clone();
                    if let Some(agent) = &a.software_agent {
                        s.push_str(&format!(" by {agent}"));
                    }
                    if let Some(t) = &a.digital_source_type {
                        s.push_str(&format!(" [{}]", t.rsplit('/').next().unwrap_or(t)));
                    }
                    s
                })
                .collect();
            add("C2PA actions", Some(actions.join("; ")));
            add("C2PA failures", Some(c.failures.join("; ")));
            add("C2PA identity", Some(c.identity_notes.join("; ")));
            add("C2PA trust", Some(c.trust.to_string()));
        }
        if let Some(x) = &self.exif {
            let camera = match (&x.make, &x.model) {
                (Some(make), Some(model)) if model.starts_with(make.as_str()) => {
                    Some(model.clone())
                }
                (Some(make), Some(model)) => Some(format!("{make} {model}")),
                (make, model) => make.clone().or(model.clone()),
            };
            add("camera", camera);
            add("lens", x.lens.clone());
            add("software", x.software.clone());
            add("artist", x.artist.clone());
            add("taken", x.taken.clone());
            add("digitised", x.digitised.clone());
            add("modified", x.modified.clone());
            add(
                "GPS",
                x.gps
                    .as_ref()
                    .map(|g| format!("{:.6}, {:.6} — {}", g.latitude, g.longitude, g.map_link)),
            );
            add("orientation", x.orientation.map(|o| o.to_string()));
        }
        if let Some(x) = &self.xmp {
            add("creator tool", x.creator_tool.clone());
            add("XMP created", x.created.clone());
            add("XMP modified", x.modified.clone());
            add("digital source type", x.digital_source_type.clone());
            let history: Vec<String> = x
                .history
                .iter()
                .map(|h| {
                    let mut s = h.action.clone();
                    if let Some(agent) = &h.software_agent {
                        s.push_str(&format!(" by {agent}"));
                    }
                    if let Some(when) = &h.when {
                        s.push_str(&format!(" ({when})"));
                    }
                    s
                })
                .collect();
            add("edit history", Some(history.join("; ")));
        }
        add("ICC profile", self.icc_profile.clone());
        for chunk in &self.png_text {
            let text: String = chunk.text.chars().take(300).collect();
            let cut = if chunk.text.chars().count() > 300 {
                "…"
            } else {
                ""
            };
            add("PNG text", Some(format!("{}: {text}{cut}", chunk.keyword)));
        }
        if let Some(e) = &self.encoder {
            add(
                "JPEG encoder",
                Some(format!("{} · tables {}", e.description, e.fingerprint)),
            );
        }
        if let Some(t) = &self.thumbnail {
            add(
                "EXIF thumbnail",
                Some(format!(
                    "{}×{} · mean difference {:.0}/255, largest local {:.0}/255 · {}",
                    t.width,
                    t.height,
                    t.mean_difference,
                    t.max_local_difference,
                    t.reason.as_deref().unwrap_or("matches the image")
                )),
            );
        }
        for note in &self.notes {
            add("unreadable", Some(note.clone()));
        }
        out
    }
}
