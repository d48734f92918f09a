//! The union hierarchy (DESIGN §2): city federation (市总工会) → county federation (县总工会) →
//! grassroots unions (基层工会). Where a node may sit is a rule of the programme, checked here.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::region::{RegionCode, RegionLevel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// 市总工会: approves filing and exit (plan §二(一), §二(二)).
    CityFederation,
    /// 县总工会: reviews, runs public notice, re-checks exits.
    CountyFederation,
    /// 基层工会: files applications and keeps household data current.
    GrassrootsUnion,
}

/// What a grassroots union is organised around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnionType {
    /// 企业工会
    Enterprise,
    /// 乡镇（街道）工会
    TownStreet,
    /// 行业工会
    Industry,
    /// 机关事业单位等其他基层工会
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("a city federation is a root and has no parent")]
    CityHasParent,
    #[error("a {child:?} must sit under a {expected:?}")]
    WrongParentKind {
        child: OrganisationKind,
        expected: OrganisationKind,
    },
    #[error("a {child:?} needs a parent organisation")]
    MissingParent { child: OrganisationKind },
    #[error("a {kind:?} needs a region code at {expected:?} level")]
    RegionLevel {
        kind: OrganisationKind,
        expected: RegionLevel,
    },
    #[error("region {child} lies outside the parent's region {parent}")]
    OutsideParentRegion {
        child: RegionCode,
        parent: RegionCode,
    },
    #[error("a grassroots union needs a union type; other organisations have none")]
    UnionType,
}

impl OrganisationKind {
    pub const ALL: &'static [OrganisationKind] = &[
        OrganisationKind::CityFederation,
        OrganisationKind::CountyFederation,
        OrganisationKind::GrassrootsUnion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::CityFederation => "city_federation",
            OrganisationKind::CountyFederation => "county_federation",
            OrganisationKind::GrassrootsUnion => "grassroots_union",
        }
    }

    /// The kind a parent must have, or `None` for a root.
    pub fn parent_kind(self) -> Option<OrganisationKind> {
        match self {
            OrganisationKind::CityFederation => None,
            OrganisationKind::CountyFederation => Some(OrganisationKind::CityFederation),
            OrganisationKind::GrassrootsUnion => Some(OrganisationKind::CountyFederation),
        }
    }

    /// The level of region code the organisation is registered at.
    pub fn region_level(self) -> RegionLevel {
        match self {
            OrganisationKind::CityFederation => RegionLevel::Prefecture,
            OrganisationKind::CountyFederation | OrganisationKind::GrassrootsUnion => {
                RegionLevel::County
            }
        }
    }
}

impl FromStr for OrganisationKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        OrganisationKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

impl UnionType {
    pub const ALL: &'static [UnionType] = &[
        UnionType::Enterprise,
        UnionType::TownStreet,
        UnionType::Industry,
        UnionType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnionType::Enterprise => "enterprise",
            UnionType::TownStreet => "town_street",
            UnionType::Industry => "industry",
            UnionType::Other => "other",
        }
    }
}

impl FromStr for UnionType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        UnionType::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// Checks that an organisation of `kind` in `region` may sit under `parent` (kind and region).
///
/// A grassroots union is registered in its county (GB/T 2260 stops at county level).
pub fn check_placement(
    kind: OrganisationKind,
    region: &RegionCode,
    union_type: Option<UnionType>,
    parent: Option<(OrganisationKind, &RegionCode)>,
) -> Result<(), PlacementError> {
    if (kind == OrganisationKind::GrassrootsUnion) != union_type.is_some() {
        return Err(PlacementError::UnionType);
    }
    if region.level() != kind.region_level() {
        return Err(PlacementError::RegionLevel {
            kind,
            expected: kind.region_level(),
        });
    }
    match (kind.parent_kind(), parent) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PlacementError::CityHasParent),
        (Some(_), None) => Err(PlacementError::MissingParent { child: kind }),
        (Some(expected), Some((actual, parent_region))) => {
            if actual != expected {
                return Err(PlacementError::WrongParentKind {
                    child: kind,
                    expected,
                });
            }
            if !parent_region.contains(region) {
                return Err(PlacementError::OutsideParentRegion {
                    child: *region,
                    parent: *parent_region,
                });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrganisationKind::*;
    use super::*;

    fn rc(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn placement_table() {
        let hz = rc("610700");
        let xx = rc("610724");
        let xa = rc("610100");
        let lintong = rc("610115");
        let ok = Ok(());
        type Case<'a> = (
            OrganisationKind,
            RegionCode,
            Option<UnionType>,
            Option<(OrganisationKind, &'a RegionCode)>,
            Result<(), PlacementError>,
        );
        let cases: Vec<Case> = vec![
            (CityFederation, hz, None, None, ok),
            (CountyFederation, xx, None, Some((CityFederation, &hz)), ok),
            (
                GrassrootsUnion,
                xx,
                Some(UnionType::Enterprise),
                Some((CountyFederation, &xx)),
                ok,
            ),
            (
                CityFederation,
                hz,
                None,
                Some((CityFederation, &xa)),
                Err(PlacementError::CityHasParent),
            ),
            (
                CityFederation,
                xx,
                None,
                None,
                Err(PlacementError::RegionLevel {
                    kind: CityFederation,
                    expected: RegionLevel::Prefecture,
                }),
            ),
            (
                CountyFederation,
                xx,
                None,
                None,
                Err(PlacementError::MissingParent {
                    child: CountyFederation,
                }),
            ),
            (
                CountyFederation,
                lintong,
                None,
                Some((CityFederation, &hz)),
                Err(PlacementError::OutsideParentRegion {
                    child: lintong,
                    parent: hz,
                }),
            ),
            (
                GrassrootsUnion,
                xx,
                Some(UnionType::Other),
                Some((CityFederation, &hz)),
                Err(PlacementError::WrongParentKind {
                    child: GrassrootsUnion,
                    expected: CountyFederation,
                }),
            ),
            (
                GrassrootsUnion,
                lintong,
                Some(UnionType::Other),
                Some((CountyFederation, &xx)),
                Err(PlacementError::OutsideParentRegion {
                    child: lintong,
                    parent: xx,
                }),
            ),
            (
                GrassrootsUnion,
                xx,
                None,
                Some((CountyFederation, &xx)),
                Err(PlacementError::UnionType),
            ),
            (
                CountyFederation,
                xx,
                Some(UnionType::Other),
                Some((CityFederation, &hz)),
                Err(PlacementError::UnionType),
            ),
        ];
        for (kind, region, ut, parent, expected) in cases {
            assert_eq!(
                check_placement(kind, &region, ut, parent),
                expected,
                "{kind:?} {region}"
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for &k in OrganisationKind::ALL {
            assert_eq!(k.as_str().parse::<OrganisationKind>(), Ok(k));
        }
        for &u in UnionType::ALL {
            assert_eq!(u.as_str().parse::<UnionType>(), Ok(u));
        }
    }
}
