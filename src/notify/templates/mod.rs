//! What every message says: the templates of every channel, rendered with minijinja.
//!
//! The built-in templates are the files under `templates/<channel>/<language>/` (all but the
//! askama folders `gui`, `public` and `api`), compiled into the binary by `build.rs`. An
//! operator's override folder (`--templates DIR`) holds files of the same relative names
//! (`DIR/email/en/_footer.txt`): each replaces its built-in, and new names (a new language's
//! folder) are added. An override that does not parse, or fails on a sample message, is
//! reported ([`Templates::problems`], logged at start and shown on the Settings page) with its
//! file and line, and the built-in is used instead.
//!
//! A template is chosen by channel, language and name: for a recipient whose language is
//! `de-CH` and a default language `fr`, `email/de-ch/created.txt`, `email/de/created.txt`,
//! `email/fr/created.txt`, then `email/en/created.txt` (see [`Language`]); names are compared
//! ignoring case. Inside a template, `"./name"` names a template of the same folder (falling
//! back to `en`'s), so a language's folder can be copied whole.
//!
//! `.html` templates escape every value (`<`, `>`, `&`, `"`, `'`); text templates do not.
//! Values are isolated against bidirectional overrides before they reach a template.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, Error, UndefinedBehavior, Value};

pub mod email;
pub use email::*;

/// The built-in templates: (name, source), from `build.rs`.
static BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_templates.rs"));

/// The language every built-in template exists in; the last fallback.
pub const FALLBACK_LANGUAGE: &str = "en";

/// A broken override: its file, the line (when known) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The languages to try for one recipient, most specific first, ending with
/// [`FALLBACK_LANGUAGE`]: the tag and its shorter prefixes, then the default language's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language {
    candidates: Vec<String>,
}

impl Language {
    /// `tag` (a recipient's `Language`, none for the default) with `default` behind it.
    pub fn chain(tag: Option<&str>, default: &str) -> Language {
        let mut candidates: Vec<String> = Vec::new();
        for tag in tag.into_iter().chain([default, FALLBACK_LANGUAGE]) {
            let tag = tag.trim().to_ascii_lowercase();
            let mut end = tag.len();
            while end > 0 {
                let prefix = &tag[..end];
                if !candidates.iter().any(|c| c == prefix) {
                    candidates.push(prefix.to_owned());
                }
                end = prefix.rfind('-').unwrap_or(0);
            }
        }
        Language { candidates }
    }

    /// The languages tried, in order.
    pub fn candidates(&self) -> &[String] {
        &self.candidates
    }
}

/// The templates in effect: the built-ins, with the valid overrides in their place.
pub struct Templates {
    active: Catalog,
    /// Only the built-ins: used when an override fails while rendering.
    builtin: Catalog,
    problems: Vec<Problem>,
    /// The override folder, if any.
    folder: Option<PathBuf>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("folder", &self.folder)
            .field("templates", &self.active.names.len())
            .field("problems", &self.problems)
            .finish()
    }
}

/// One environment and the names it holds.
struct Catalog {
    env: Environment<'static>,
    /// Lower-cased name → name.
    names: Arc<HashMap<String, String>>,
    /// Names whose source is an override.
    overridden: HashSet<String>,
}

impl Catalog {
    /// An environment holding `sources`; the templates that do not parse are returned with
    /// their errors.
    fn new(
        sources: &BTreeMap<String, String>,
        overridden: HashSet<String>,
    ) -> (Catalog, Vec<(String, Error)>) {
        let names: Arc<HashMap<String, String>> = Arc::new(
            sources
                .keys()
                .map(|n| (n.to_ascii_lowercase(), n.clone()))
                .collect(),
        );
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_formatter(escape_formatter);
        let known = names.clone();
        env.set_path_join_callback(move |name, parent| join(&known, name, parent).into());
        let mut broken = Vec::new();
        for (name, source) in sources {
            if let Err(e) = env.add_template_owned(name.clone(), source.clone()) {
                broken.push((name.clone(), e));
            }
        }
        (
            Catalog {
                env,
                names,
                overridden,
            },
            broken,
        )
    }

    /// The template `name` of `channel` in the first of `language`'s candidates that has it.
    fn resolve(&self, channel: &str, language: &Language, name: &str) -> Option<&str> {
        language.candidates.iter().find_map(|lang| {
            self.names
                .get(&format!("{channel}/{lang}/{name}").to_ascii_lowercase())
                .map(String::as_str)
        })
    }

    fn render(&self, name: &str, context: &Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(context)
    }
}

/// `"./x"` inside `email/de/created.txt` is `email/de/x`, or `email/en/x` when the language
/// has none; other names are as written.
fn join(names: &HashMap<String, String>, name: &str, parent: &str) -> String {
    let Some(rest) = name.strip_prefix("./") else {
        return name.to_owned();
    };
    let folder = parent.rsplit_once('/').map(|(f, _)| f).unwrap_or("");
    let here = format!("{folder}/{rest}");
    if let Some(found) = names.get(&here.to_ascii_lowercase()) {
        return found.clone();
    }
    match folder.split_once('/') {
        Some((channel, _)) => names
            .get(&format!("{channel}/{FALLBACK_LANGUAGE}/{rest}").to_ascii_lowercase())
            .cloned()
            .unwrap_or(here),
        None => here,
    }
}

/// Like minijinja's own, but HTML escaping leaves `/` alone (links stay readable, and lines
/// short enough for 7bit).
fn escape_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &Value,
) -> Result<(), Error> {
    if state.auto_escape() != AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_none() || value.is_undefined() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.write_str(&text[last..i]).map_err(Error::from)?;
        out.write_str(entity).map_err(Error::from)?;
        last = i + 1;
    }
    out.write_str(&text[last..]).map_err(Error::from)
}

/// Whether `name` is rendered on its own (not a partial `_x`, not a `layout`).
fn is_top_level(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    !file.starts_with('_') && !file.starts_with("layout.")
}

fn channel_of(name: &str) -> &str {
    name.split('/').next().unwrap_or("")
}

impl Templates {
    /// Only the built-in templates.
    pub fn builtin() -> Templates {
        Templates::load(None).expect("the built-in templates load")
    }

    /// The built-ins and the overrides in `folder`. Broken overrides are left out and reported
    /// in [`Templates::problems`]; `Err` only when the folder cannot be read at all.
    pub fn load(folder: Option<&Path>) -> Result<Templates, String> {
        let builtin: BTreeMap<String, String> = BUILTIN
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect();
        let mut problems = Vec::new();
        let mut overrides = BTreeMap::new();
        if let Some(folder) = folder {
            read_folder(folder, folder, &mut overrides, &mut problems).map_err(|e| {
                format!("cannot read the templates folder {}: {e}", folder.display())
            })?;
        }
        let file = |name: &str| folder.unwrap_or(Path::new("")).join(name);
        let (builtin_catalog, broken) = Catalog::new(&builtin, HashSet::new());
        assert!(
            broken.is_empty(),
            "a built-in template does not parse: {broken:?}"
        );
        loop {
            let mut sources = builtin.clone();
            sources.extend(overrides.clone());
            let (catalog, broken) = Catalog::new(&sources, overrides.keys().cloned().collect());
            let mut dropped = false;
            for (name, e) in broken {
                problems.push(problem(file(&name), &e));
                overrides.remove(&name);
                dropped = true;
            }
            if dropped {
                continue;
            }
            // Every template rendered on its own is tried on a sample of its channel, so an
            // override that names a value that does not exist is caught now, not when sending.
            for name in catalog.names.values().filter(|n| is_top_level(n)) {
                let Some(sample) = sample(channel_of(name)) else {
                    continue;
                };
                let rendered = catalog.render(name, &sample);
                let Err(e) = rendered.and_then(|text| gives_json(name, &text)) else {
                    continue;
                };
                let culprit = e
                    .name()
                    .filter(|n| overrides.contains_key(*n))
                    .map(str::to_owned)
                    .or_else(|| overrides.contains_key(name.as_str()).then(|| name.clone()));
                if let Some(culprit) = culprit {
                    let mut p = problem(file(&culprit), &e);
                    if e.name() != Some(culprit.as_str()) {
                        p.line = None;
                    }
                    problems.push(p);
                    overrides.remove(&culprit);
                    dropped = true;
                    break;
                }
            }
            if dropped {
                continue;
            }
            return Ok(Templates {
                active: catalog,
                builtin: builtin_catalog,
                problems,
                folder: folder.map(Path::to_owned),
            });
        }
    }

    /// The overrides that were left out, with their file and line.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The override folder, if one is used.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// The names of the overrides in effect.
    pub fn overridden(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.active.overridden.iter().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Whether `channel` has a template `name` in any of `language`'s candidates.
    pub fn has(&self, channel: &str, language: &Language, name: &str) -> bool {
        self.active.resolve(channel, language, name).is_some()
    }

    /// Renders `channel`'s template `name` in the first language of `language` that has it,
    /// with `context`. When an override fails, the built-in is rendered instead (and the
    /// failure logged).
    pub fn render(
        &self,
        channel: &str,
        language: &Language,
        name: &str,
        context: &Value,
    ) -> Result<String, Error> {
        let missing = || {
            Error::new(
                minijinja::ErrorKind::TemplateNotFound,
                format!("no template {channel}/*/{name}"),
            )
        };
        let found = self
            .active
            .resolve(channel, language, name)
            .ok_or_else(missing)?;
        match self.active.render(found, context) {
            Ok(text) => Ok(text),
            Err(e) if !self.active.overridden.is_empty() => {
                tracing::warn!(template = found, error = %e, "an override failed; the built-in template is used");
                let found = self.builtin.resolve(channel, language, name).ok_or(e)?;
                self.builtin.render(found, context)
            }
            Err(e) => Err(e),
        }
    }
}

/// A `.json` template (a webhook's body) must give JSON.
fn gives_json(name: &str, text: &str) -> Result<(), Error> {
    if !name.ends_with(".json") {
        return Ok(());
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| {
            Error::new(
                minijinja::ErrorKind::BadSerialization,
                format!("it does not give JSON: {e}"),
            )
        })
}

fn problem(file: PathBuf, e: &Error) -> Problem {
    let message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    Problem {
        file,
        line: e.line(),
        message,
    }
}

/// A sample context for every top-level template of `channel`, checked at start.
fn sample(channel: &str) -> Option<Value> {
    match channel {
        "email" => Some(email::sample_context()),
        "sms" => Some(crate::notify::sms::text::sample_context()),
        "webhook" => Some(crate::notify::webhook::payload::sample_context()),
        _ => None,
    }
}

/// Reads every file under `dir` (relative names with `/`) into `out`; a file that is not
/// UTF-8 text is a problem, not a failure.
fn read_folder(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            read_folder(root, &path, out, problems)?;
            continue;
        }
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(source)) => {
                out.insert(name, source);
            }
            Ok(Err(_)) => problems.push(Problem {
                file: path,
                line: None,
                message: "not UTF-8 text".into(),
            }),
            Err(e) => problems.push(Problem {
                file: path,
                line: None,
                message: e.to_string(),
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod golden_tests;
