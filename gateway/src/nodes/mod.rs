//! `/v1/nodes`: the node resource and its sub-resources.
//!
//! Records are read and written straight in the store (compare-and-swap on the
//! record's revision, unique names enforced by the store in the same
//! transaction); actions that touch hardware — provision, power, boot device,
//! validate — go to the conductor through the deploy service's gRPC contract.
//!
//! Layout: [`input`] (body schema), [`lookup`] (finding a node and what is
//! derived at read time: reservation, conductor), [`crud`] (create, show, list,
//! patch, delete), [`filters`] (list filters), [`traits`], [`actions`]
//! (states, provision, power, boot device, maintenance, validate).

pub mod actions;
pub mod crud;
pub mod filters;
pub mod input;
pub mod lookup;
pub mod traits;
pub mod view;

use axum::Router;
use axum::routing::{get, put};

use crate::AppState;

/// Every `/v1/nodes` route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/nodes", get(crud::list).post(crud::create))
        .route("/v1/nodes/detail", get(crud::list_detail))
        .route("/v1/chassis/{chassis}/nodes", get(crud::chassis_nodes))
        .route("/v1/nodes/{node}", get(crud::show).patch(crud::patch).delete(crud::delete))
        .route("/v1/nodes/{node}/states", get(actions::states))
        .route("/v1/nodes/{node}/states/provision", put(actions::provision))
        .route("/v1/nodes/{node}/states/power", put(actions::power))
        .route(
            "/v1/nodes/{node}/management/boot_device",
            get(actions::get_boot_device).put(actions::set_boot_device),
        )
        .route("/v1/nodes/{node}/management/boot_device/supported", get(actions::supported_boot_devices))
        .route(
            "/v1/nodes/{node}/maintenance",
            put(actions::set_maintenance).delete(actions::unset_maintenance),
        )
        .route("/v1/nodes/{node}/validate", get(actions::validate))
        .route("/v1/nodes/{node}/traits", get(traits::list).put(traits::replace).delete(traits::remove_all))
        .route("/v1/nodes/{node}/traits/{trait_name}", put(traits::add).delete(traits::remove))
}
