//! C2PA Content Credentials, read and validated with the `c2pa` crate: who signed the claim,
//! with what tool, which actions it declares (created, edited, made by a generative model), and
//! whether its signature and bindings check out.
//!
//! Offline by construction: no remote manifests, no OCSP or timestamp fetches. No trust list is
//! bundled, so a valid signature says that the manifest is intact and who signed it, not that
//! the signer is one a trust list knows; the result says so.

use std::io::Cursor;

use serde::Serialize;
use serde_json::Value;

/// Longest text value kept.
const MAX_TEXT: usize = 256;
/// Most actions kept.
const MAX_ACTIONS: usize = 64;

/// IPTC digital source types that declare generative-model origin.
pub(super) const AI_SOURCE_TYPES: [&str; 2] = [
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
];

/// What the file's C2PA manifest says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContentCredentials {
    /// `valid`, `invalid` or `unreadable`.
    pub validation: String,
    /// Why validation failed (status codes with explanations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// Identity assertions (CAWG) that could not be verified, e.g. an issuer that can only be
    /// resolved online; they concern who the signer says they are, not the claim's integrity.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_notes: Vec<String>,
    /// The signing certificate's subject (common name, else organisation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The certificate's issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// When it was signed (from the time stamp, when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The application that made the claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_generator: Option<String>,
    /// The manifest's title for the asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Declared actions, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<CredentialAction>,
    /// How many manifests the file carries (earlier ones are its ingredients' history).
    pub manifests: usize,
    /// Trust: always that no trust list was consulted.
    pub trust: &'static str,
}

/// One declared action (`c2pa.created`, `c2pa.edited`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CredentialAction {
    /// The action's label.
    pub action: String,
    /// The tool that did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
    /// The IPTC digital source type it declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
}

impl ContentCredentials {
    /// Whether the manifest validated.
    pub fn is_valid(&self) -> bool {
        self.validation == "valid"
    }

    /// Whether an action declares a generative-model origin.
    pub fn declares_ai(&self) -> bool {
        self.actions.iter().any(|a| {
            a.digital_source_type
                .as_deref()
                .is_some_and(|t| AI_SOURCE_TYPES.iter().any(|ai| t.ends_with(ai)))
        })
    }
}

const TRUST: &str = "not checked: no trust list is bundled";
const UNTRUSTED: &str = "signingCredential.untrusted";
const SIGNATURE_VALIDATED: &str = "claimSignature.validated";
const INSIDE_VALIDITY: &str = "claimSignature.insideValidity";

fn mime(format: &str) -> Option<&'static str> {
    Some(match format {
        "JPEG" => "image/jpeg",
        "PNG" => "image/png",
        "WebP" => "image/webp",
        "TIFF" => "image/tiff",
        "GIF" => "image/gif",
        _ => return None,
    })
}

/// The file's Content Credentials; `None` when it carries no C2PA manifest.
pub(super) fn read(bytes: &[u8], format: &str) -> Option<ContentCredentials> {
    let mime = mime(format)?;
    // Cheap pre-check: every embedded manifest store is a JUMBF box labelled "c2pa".
    if !contains(bytes, b"jumb") || !contains(bytes, b"c2pa") {
        return None;
    }
    let settings = serde_json::json!({
        "verify": { "verify_trust": false, "ocsp_fetch": false, "remote_manifest_fetch": false }
    });
    let context = match c2pa::Context::new().with_settings(settings) {
        Ok(context) => context,
        Err(e) => return Some(unreadable(format!("settings: {e}"))),
    };
    let reader = match c2pa::Reader::from_context(context).with_stream(mime, Cursor::new(bytes)) {
        Ok(reader) => reader,
        Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => return None,
        Err(e) => return Some(unreadable(e.to_string())),
    };
    let json: Value = match serde_json::from_str(&reader.json()) {
        Ok(json) => json,
        Err(e) => return Some(unreadable(e.to_string())),
    };
    Some(from_json(&json))
}

fn unreadable(message: String) -> ContentCredentials {
    ContentCredentials {
        validation: "unreadable".into(),
        failures: vec![clip(&message)],
        trust: TRUST,
        ..ContentCredentials::default()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(clip(s)).filter(|s| !s.is_empty()),
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str)?;
            let version = o.get("version").and_then(Value::as_str);
            Some(clip(&match version {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            }))
        }
        _ => None,
    }
}

/// The parts mclcr shows, from the reader's JSON report.
fn from_json(json: &Value) -> ContentCredentials {
    let manifests = json.get("manifests").and_then(Value::as_object);
    let active = json
        .get("active_manifest")
        .and_then(Value::as_str)
        .and_then(|label| manifests?.get(label));
    let statuses = |kind: &str| -> Vec<(String, String)> {
        json.pointer(&format!("/validation_results/activeManifest/{kind}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let code = s.get("code").and_then(Value::as_str)?;
                let explanation = s.get("explanation").and_then(Value::as_str).unwrap_or("");
                Some((code.to_string(), explanation.to_string()))
            })
            .collect()
    };
    let success: Vec<String> = statuses("success").into_iter().map(|(c, _)| c).collect();
    let mut failures = Vec::new();
    let mut identity_notes = Vec::new();
    for (code, explanation) in statuses("failure") {
        let line = clip(&format!("{code}: {explanation}"));
        if code.starts_with("cawg.") {
            identity_notes.push(line);
        } else if code != UNTRUSTED {
            failures.push(line);
        }
    }
    // The claim is valid when its signature checks out inside the certificate's validity and
    // nothing but trust (not consulted) failed: the C2PA definition of a valid manifest.
    let valid = active.is_some()
        && success.iter().any(|c| c == SIGNATURE_VALIDATED)
        && success.iter().any(|c| c == INSIDE_VALIDITY)
        && failures.is_empty();
    let signature = active.and_then(|m| m.get("signature_info"));
    let actions = active
        .and_then(|m| m.get("assertions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| {
            a.get("label")
                .and_then(Value::as_str)
                .is_some_and(|l| l.starts_with("c2pa.actions"))
        })
        .filter_map(|a| a.pointer("/data/actions").and_then(Value::as_array))
        .flatten()
        .filter_map(|a| {
            Some(CredentialAction {
                action: text(a.get("action")?)?,
                software_agent: a.get("softwareAgent").and_then(text),
                digital_source_type: a.get("digitalSourceType").and_then(text),
            })
        })
        .take(MAX_ACTIONS)
        .collect();
    let claim_generator = active.and_then(|m| {
        m.get("claim_generator_info")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(text)
            .or_else(|| m.get("claim_generator").and_then(text))
    });
    ContentCredentials {
        validation: if valid { "valid" } else { "invalid" }.into(),
        failures,
        identity_notes,
        signer: signature.and_then(|s| {
            s.get("common_name")
                .and_then(text)
                .or_else(|| s.get("issuer").and_then(text))
        }),
        issuer: signature.and_then(|s| s.get("issuer").and_then(text)),
        signed_at: signature.and_then(|s| s.get("time").and_then(text)),
        claim_generator,
        title: active.and_then(|m| m.get("title")).and_then(text),
        actions,
        manifests: manifests.map_or(0, |m| m.len()),
        trust: TRUST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signer_generator_and_ai_actions_from_a_report() {
        let json = serde_json::json!({
            "active_manifest": "urn:c2pa:1",
            "validation_results": {"activeManifest": {
                "success": [{"code": "claimSignature.validated"}, {"code": "claimSignature.insideValidity"}],
                "failure": [{"code": "cawg.ica.did_unavailable", "explanation": "offline"}]
            }},
            "manifests": { "urn:c2pa:1": {
                "claim_generator_info": [{"name": "Image Generator", "version": "2.0"}],
                "title": "image.png",
                "signature_info": {"issuer": "Example CA", "common_name": "Example Signer", "time": "2025-01-01T00:00:00Z"},
                "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", "softwareAgent": {"name": "Model X"}}
                ]}}]
            }}
        });
        let c = from_json(&json);
        assert!(c.is_valid(), "{c:?}");
        assert!(c.declares_ai());
        assert_eq!(c.identity_notes.len(), 1);
        assert_eq!(c.signer.as_deref(), Some("Example Signer"));
        assert_eq!(c.claim_generator.as_deref(), Some("Image Generator 2.0"));
        assert_eq!(c.actions[0].software_agent.as_deref(), Some("Model X"));
    }

    #[test]
    fn failures_make_it_invalid() {
        let json = serde_json::json!({
            "active_manifest": "m",
            "manifests": { "m": {} },
            "validation_results": {"activeManifest": {
                "success": [{"code": "claimSignature.validated"}, {"code": "claimSignature.insideValidity"}],
                "failure": [
                {"code": "assertion.dataHash.mismatch", "explanation": "hash does not match"}
            ]}}
        });
        let c = from_json(&json);
        assert!(!c.is_valid());
        assert!(c.failures[0].starts_with("assertion.dataHash.mismatch"));
        assert!(read(b"plain bytes", "JPEG").is_none());
    }
}
