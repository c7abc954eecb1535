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
//! (states, provision, power, boot device, maintenance, validate), [`extras`]
//! (VIFs, history, inventory, shards), [`controls`] (boot mode, secure boot,
//! NMI, console), [`firmware`] (BIOS settings, firmware components),
//! [`indicators`] (LEDs).

pub mod actions;
pub mod controls;
pub mod crud;
pub mod extras;
pub mod filters;
pub mod firmware;
pub mod indicators;
pub mod input;
pub mod lookup;
pub mod raid;
pub mod traits;
pub mod view;
pub mod vmedia;

use crate::openapi::{Body, Doc, Routes, Schema};

/// Every `/v1/nodes` route.
pub fn routes() -> Routes {
    let node = Schema::Ref("Node");
    Routes::new()
        .get("/v1/nodes", crud::list, Doc::list("List nodes", "nodes", "Node"))
        .post("/v1/nodes", crud::create, Doc::create("Enroll a node", "NodeCreate", "Node"))
        .delete(
            "/v1/nodes",
            crud::delete_without_node,
            Doc::show("Refused: names no node", Schema::Ref("Error")).status(400),
        )
        .get("/v1/nodes/detail", crud::list_detail, Doc::list("List nodes with every field", "nodes", "Node"))
        .get(
            "/v1/chassis/{chassis}/nodes",
            crud::chassis_nodes,
            Doc::list("List a chassis' nodes", "nodes", "Node"),
        )
        .get("/v1/nodes/{node}", crud::show, Doc::show("Show a node by UUID or name", node))
        .patch("/v1/nodes/{node}", crud::patch, Doc::patch("Update a node with a JSON Patch", "Node"))
        .delete("/v1/nodes/{node}", crud::delete, Doc::action("Delete a node", Body::None, 204))
        .get("/v1/nodes/{node}/states", actions::states, Doc::show("A node's states", Schema::Object))
        .put(
            "/v1/nodes/{node}/states/provision",
            actions::provision,
            Doc::action("Change the provision state", Body::Json(Schema::Ref("ProvisionTarget")), 202),
        )
        .put(
            "/v1/nodes/{node}/states/power",
            actions::power,
            Doc::action("Change the power state", Body::Json(Schema::Ref("PowerTarget")), 202),
        )
        .get(
            "/v1/nodes/{node}/management/boot_device",
            actions::get_boot_device,
            Doc::show("The next boot device", Schema::Object),
        )
        .put(
            "/v1/nodes/{node}/management/boot_device",
            actions::set_boot_device,
            Doc::action("Set the next boot device", Body::Json(Schema::Ref("BootDevice")), 204),
        )
        .get(
            "/v1/nodes/{node}/management/boot_device/supported",
            actions::supported_boot_devices,
            Doc::show("Boot devices the node supports", Schema::Strings("supported_boot_devices")),
        )
        .put(
            "/v1/nodes/{node}/maintenance",
            actions::set_maintenance,
            Doc::action("Put a node in maintenance", Body::OptionalJson(Schema::Ref("Maintenance")), 202),
        )
        .delete(
            "/v1/nodes/{node}/maintenance",
            actions::unset_maintenance,
            Doc::action("Take a node out of maintenance", Body::None, 202),
        )
        .get(
            "/v1/nodes/{node}/validate",
            actions::validate,
            Doc::show("Validate every interface", Schema::Object),
        )
        .get("/v1/nodes/{node}/traits", traits::list, Doc::show("A node's traits", Schema::Strings("traits")))
        .put(
            "/v1/nodes/{node}/traits",
            traits::replace,
            Doc::action("Replace the traits", Body::Json(Schema::Ref("Traits")), 204),
        )
        .delete(
            "/v1/nodes/{node}/traits",
            traits::remove_all,
            Doc::action("Remove every trait", Body::None, 204),
        )
        .put("/v1/nodes/{node}/traits/{trait_name}", traits::add, Doc::action("Add a trait", Body::None, 204))
        .delete(
            "/v1/nodes/{node}/traits/{trait_name}",
            traits::remove,
            Doc::action("Remove a trait", Body::None, 204),
        )
        .get(
            "/v1/nodes/{node}/vifs",
            extras::list_vifs,
            Doc::show("VIFs attached to the node", Schema::Object),
        )
        .post(
            "/v1/nodes/{node}/vifs",
            extras::attach_vif,
            Doc::action("Attach a VIF", Body::Json(Schema::Object), 204),
        )
        .delete(
            "/v1/nodes/{node}/vifs/{vif}",
            extras::detach_vif,
            Doc::action("Detach a VIF", Body::None, 204),
        )
        .get("/v1/nodes/{node}/history", extras::history, Doc::show("The node's history", Schema::Object))
        .get(
            "/v1/nodes/{node}/history/{event}",
            extras::history_event,
            Doc::show("One history event", Schema::Object),
        )
        .get(
            "/v1/nodes/{node}/inventory",
            extras::inventory,
            Doc::show("The node's inventory", Schema::Object),
        )
        .get("/v1/shards", extras::shards, Doc::show("Shards and their node counts", Schema::Object))
        .put(
            "/v1/nodes/{node}/states/boot_mode",
            controls::set_boot_mode,
            Doc::action("Change the boot mode", Body::Json(Schema::Ref("BootModeTarget")), 202),
        )
        .put(
            "/v1/nodes/{node}/states/secure_boot",
            controls::set_secure_boot,
            Doc::action("Turn secure boot on or off", Body::Json(Schema::Ref("SecureBootTarget")), 202),
        )
        .put(
            "/v1/nodes/{node}/management/inject_nmi",
            controls::inject_nmi,
            Doc::action("Inject a non-maskable interrupt", Body::OptionalJson(Schema::Object), 204),
        )
        .get(
            "/v1/nodes/{node}/states/console",
            controls::get_console,
            Doc::show("The console's state", Schema::Object),
        )
        .put(
            "/v1/nodes/{node}/states/console",
            controls::set_console,
            Doc::action("Start or stop the console", Body::Json(Schema::Ref("ConsoleTarget")), 202),
        )
        .get(
            "/v1/nodes/{node}/bios",
            firmware::list_bios,
            Doc::show("The node's BIOS settings", Schema::Object),
        )
        .get(
            "/v1/nodes/{node}/bios/{setting}",
            firmware::show_bios,
            Doc::show("One BIOS setting", Schema::Object),
        )
        .get(
            "/v1/nodes/{node}/management/indicators",
            indicators::list,
            Doc::show("The node's indicators", Schema::Object),
        )
        .get(
            "/v1/nodes/{node}/management/indicators/{indicator}",
            indicators::show,
            Doc::show("One indicator's state", Schema::Object),
        )
        .put(
            "/v1/nodes/{node}/management/indicators/{indicator}",
            indicators::set,
            Doc::action("Set an indicator's state", Body::Json(Schema::Ref("IndicatorTarget")), 204),
        )
        .get(
            "/v1/nodes/{node}/firmware",
            firmware::list_firmware,
            Doc::show("The node's firmware components", Schema::Object),
        )
        .put(
            "/v1/nodes/{node}/states/raid",
            raid::set_raid,
            Doc::action("Set the RAID configuration cleaning applies", Body::Json(Schema::Object), 204),
        )
        .post(
            "/v1/nodes/{node}/vmedia",
            vmedia::attach,
            Doc::action("Attach virtual media", Body::Json(Schema::Object), 204),
        )
        .delete(
            "/v1/nodes/{node}/vmedia",
            vmedia::detach,
            Doc::action("Detach virtual media", Body::None, 204),
        )
        .get("/v1/nodes/{node}/vmedia", vmedia::list, Doc::show("Attached virtual media", Schema::Object))
}
