//! The filters of `GET /v1/nodes`, each available from the version Ironic added
//! it, matched against records in memory.

use ferric_model::{Node, ProvisionState, Version};
use serde::Deserialize;

use super::input::parse_bool;
use crate::ApiError;

/// Raw filter arguments as they come in the query string.
#[derive(Debug, Default, Deserialize)]
pub struct NodeFilters {
    associated: Option<String>,
    maintenance: Option<String>,
    retired: Option<String>,
    provision_state: Option<String>,
    driver: Option<String>,
    resource_class: Option<String>,
    conductor_group: Option<String>,
    conductor: Option<String>,
    fault: Option<String>,
    owner: Option<String>,
    lessee: Option<String>,
    project: Option<String>,
    description_contains: Option<String>,
    shard: Option<String>,
    sharded: Option<String>,
    parent_node: Option<String>,
    include_children: Option<String>,
    instance_uuid: Option<String>,
    instance_name: Option<String>,
    /// Set by `/v1/chassis/{chassis}/nodes` as well as by the query.
    pub(crate) chassis_uuid: Option<String>,
}

/// Validated filters.
#[derive(Debug, Default)]
pub struct Matcher {
    associated: Option<bool>,
    maintenance: Option<bool>,
    retired: Option<bool>,
    provision_state: Option<ProvisionState>,
    driver: Option<String>,
    resource_class: Option<String>,
    conductor_group: Option<String>,
    conductor: Option<String>,
    fault: Option<String>,
    owner: Option<String>,
    lessee: Option<String>,
    project: Option<String>,
    description_contains: Option<String>,
    shards: Option<Vec<String>>,
    sharded: Option<bool>,
    parent_node: Option<String>,
    include_children: bool,
    instance_uuid: Option<String>,
    instance_name: Option<String>,
    chassis_uuid: Option<String>,
}

fn flag(name: &str, raw: &Option<String>) -> Result<Option<bool>, ApiError> {
    raw.as_deref()
        .map(|text| {
            parse_bool(text)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid {name}: Unrecognized value '{text}'")))
        })
        .transpose()
}

fn gated(
    name: &str,
    raw: &Option<String>,
    version: Version,
    since: (u32, u32),
) -> Result<Option<String>, ApiError> {
    if raw.is_some() && version < Version::new(since.0, since.1) {
        return Err(ApiError::fault(
            axum::http::StatusCode::NOT_ACCEPTABLE,
            format!("The argument {name} is not available before API version {}.{}.", since.0, since.1),
        ));
    }
    Ok(raw.clone())
}

impl NodeFilters {
    /// Checks versions and values, with Ironic's errors.
    pub fn validate(&self, version: Version) -> Result<Matcher, ApiError> {
        let provision_state = gated("provision_state", &self.provision_state, version, (1, 9))?
            .map(|s| {
                s.parse::<ProvisionState>()
                    .map_err(|_| ApiError::bad_request(format!("Invalid provision state: {s}")))
            })
            .transpose()?;
        gated("retired", &self.retired, version, (1, 61))?;
        gated("sharded", &self.sharded, version, (1, 82))?;
        gated("include_children", &self.include_children, version, (1, 83))?;
        Ok(Matcher {
            associated: flag("associated", &self.associated)?,
            maintenance: flag("maintenance", &self.maintenance)?,
            retired: flag("retired", &self.retired)?,
            provision_state,
            driver: gated("driver", &self.driver, version, (1, 16))?,
            resource_class: gated("resource_class", &self.resource_class, version, (1, 21))?,
            conductor_group: gated("conductor_group", &self.conductor_group, version, (1, 46))?
                .map(|g| g.to_lowercase()),
            conductor: gated("conductor", &self.conductor, version, (1, 49))?,
            fault: gated("fault", &self.fault, version, (1, 42))?,
            owner: gated("owner", &self.owner, version, (1, 51))?,
            lessee: gated("lessee", &self.lessee, version, (1, 65))?,
            project: gated("project", &self.project, version, (1, 65))?,
            description_contains: gated(
                "description_contains",
                &self.description_contains,
                version,
                (1, 51),
            )?,
            shards: gated("shard", &self.shard, version, (1, 82))?
                .map(|s| s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()),
            sharded: flag("sharded", &self.sharded)?,
            parent_node: gated("parent_node", &self.parent_node, version, (1, 83))?,
            include_children: flag("include_children", &self.include_children)?.unwrap_or(false),
            instance_uuid: self.instance_uuid.clone(),
            instance_name: gated("instance_name", &self.instance_name, version, (1, 104))?,
            chassis_uuid: self.chassis_uuid.clone(),
        })
    }
}

impl Matcher {
    /// Whether `node` passes every filter given.
    pub fn matches(&self, node: &Node, conductor: Option<&str>) -> bool {
        fn eq(want: &Option<String>, have: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| have == Some(w))
        }
        let parent_ok = match &self.parent_node {
            Some(parent) => node.parent_node.is_some_and(|p| p.to_string() == *parent),
            // Child nodes are hidden unless asked for (1.83).
            None => self.include_children || node.parent_node.is_none(),
        };
        parent_ok
            && self.associated.is_none_or(|a| a == node.instance_uuid.is_some())
            && self.maintenance.is_none_or(|m| m == node.maintenance)
            && self.retired.is_none_or(|r| r == node.retired)
            && self.provision_state.is_none_or(|p| p == node.provision_state)
            && eq(&self.driver, Some(&node.driver))
            && eq(&self.resource_class, node.resource_class.as_deref())
            && eq(&self.conductor_group, Some(&node.conductor_group))
            && eq(&self.conductor, conductor)
            && self.fault.as_deref().is_none_or(|f| node.fault.as_deref() == Some(f))
            && eq(&self.owner, node.owner.as_deref())
            && eq(&self.lessee, node.lessee.as_deref())
            && self
                .project
                .as_deref()
                .is_none_or(|p| node.owner.as_deref() == Some(p) || node.lessee.as_deref() == Some(p))
            && self
                .description_contains
                .as_deref()
                .is_none_or(|d| node.description.as_deref().is_some_and(|text| text.contains(d)))
            && self
                .shards
                .as_ref()
                .is_none_or(|shards| node.shard.as_ref().is_some_and(|s| shards.contains(s)))
            && self.sharded.is_none_or(|s| s == node.shard.is_some())
            && self
                .instance_uuid
                .as_deref()
                .is_none_or(|u| node.instance_uuid.map(|x| x.to_string()).as_deref() == Some(u))
            && eq(&self.instance_name, node.instance_name.as_deref())
            && self
                .chassis_uuid
                .as_deref()
                .is_none_or(|c| node.chassis_uuid.map(|x| x.to_string()).as_deref() == Some(c))
    }
}
