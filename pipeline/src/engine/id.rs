//! A stage's identity: its family and, in a family of several, its name there (`ingest`,
//! `features:image`, `train:linear`, `compare:seeds`), and for an input that reads one of
//! several artifacts of a stage, which one (`align:linear@3`, sweep member 3's). Written and
//! parsed as `family[:name][@tag]`; the store's folders, manifests and the CLI use that text.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageId {
    family: String,
    name: Option<String>,
    tag: Option<String>,
}

impl StageId {
    /// A stage of family `family` named `name` in it (`features`, `image`).
    pub fn new(family: &str, name: &str) -> StageId {
        StageId {
            family: family.into(),
            name: Some(name.into()),
            tag: None,
        }
    }

    /// A family of one stage (`ingest`, `report`).
    pub fn single(family: &str) -> StageId {
        StageId {
            family: family.into(),
            name: None,
            tag: None,
        }
    }

    /// This stage's artifact tagged `tag` (one of several it has in a plan: a sweep member's).
    pub fn at(&self, tag: impl fmt::Display) -> StageId {
        StageId {
            tag: Some(tag.to_string()),
            ..self.clone()
        }
    }

    pub fn family(&self) -> &str {
        &self.family
    }

    /// The name within the family, if the family has several.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The stage itself, without a tag.
    pub fn untagged(&self) -> StageId {
        StageId {
            tag: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.family)?;
        if let Some(name) = &self.name {
            write!(f, ":{name}")?;
        }
        if let Some(tag) = &self.tag {
            write!(f, "@{tag}")?;
        }
        Ok(())
    }
}

impl FromStr for StageId {
    type Err = String;

    fn from_str(s: &str) -> Result<StageId, String> {
        let (stage, tag) = match s.split_once('@') {
            Some((stage, tag)) => (stage, Some(tag)),
            None => (s, None),
        };
        let (family, name) = match stage.split_once(':') {
            Some((family, name)) => (family, Some(name)),
            None => (stage, None),
        };
        let part = |p: &str| !p.is_empty() && !p.contains([':', '@', '/']);
        if !part(family) || !name.is_none_or(part) || !tag.is_none_or(part) {
            return Err(format!(
                "`{s}`: expected a stage as family, family:name or family:name@tag"
            ));
        }
        Ok(StageId {
            family: family.into(),
            name: name.map(String::from),
            tag: tag.map(String::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_parsed_as_family_name_tag() {
        for (id, text) in [
            (StageId::single("ingest"), "ingest"),
            (
                StageId::new("features", "probe-image"),
                "features:probe-image",
            ),
            (StageId::new("align", "linear").at(3), "align:linear@3"),
        ] {
            assert_eq!(id.to_string(), text);
            assert_eq!(text.parse::<StageId>().unwrap(), id);
        }
        let tagged: StageId = "align:linear@3".parse().unwrap();
        assert_eq!(tagged.untagged(), StageId::new("align", "linear"));
        assert_eq!(tagged.family(), "align");
        assert_eq!(tagged.name(), Some("linear"));
        for bad in ["", ":x", "a:", "a:b:c", "a@", "a/b"] {
            assert!(bad.parse::<StageId>().is_err(), "{bad}");
        }
    }
}
