//! Boot mode, secure boot, NMI and console on fake hardware: changed under the
//! node's lock and recorded in the node, refused where the interface lacks them.

mod common;

use common::Conductor;
use ferric_deploy::{DeployError, Settings};
use ferric_model::ProvisionState as S;
use ferric_model::state::BootMode;

#[tokio::test]
async fn fake_hardware_records_boot_mode_secure_boot_and_console() {
    let c = Conductor::start(Settings::default()).await;
    let node = c.node(S::Manageable, |_| {}).await;
    c.engine.set_boot_mode(node, BootMode::Uefi).await.expect("boot mode");
    c.engine.set_secure_boot(node, true).await.expect("secure boot");
    c.engine.set_console(node, true).await.expect("console");
    c.engine.inject_nmi(node).await.expect("nmi");
    let saved = c.get(node).await;
    assert_eq!(saved.boot_mode, Some(BootMode::Uefi));
    assert_eq!(saved.secure_boot, Some(true));
    assert!(saved.console_enabled);
    c.engine.set_console(node, false).await.expect("console off");
    assert!(!c.get(node).await.console_enabled);
}

#[tokio::test]
async fn interfaces_without_the_operation_refuse_it() {
    let c = Conductor::start(Settings::default()).await;
    let node = c.node(S::Manageable, |n| n.console_interface = Some("no-console".into())).await;
    let error = c.engine.set_console(node, true).await.unwrap_err();
    assert!(matches!(error, DeployError::Unsupported(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "Driver fake-hardware does not support console (disabled or not implemented)."
    );
    assert!(!c.get(node).await.console_enabled);
    let missing = c.engine.set_boot_mode(uuid::Uuid::new_v4(), BootMode::Bios).await.unwrap_err();
    assert!(matches!(missing, DeployError::NodeNotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn fake_indicators_read_on_and_cannot_be_set() {
    let c = Conductor::start(Settings::default()).await;
    let node = c.node(S::Manageable, |_| {}).await;
    let table = c.engine.indicators(node).await.expect("indicators");
    assert_eq!(
        table.iter().map(|i| (i.0, i.1)).collect::<Vec<_>>(),
        [("chassis", "led-0"), ("system", "led")]
    );
    assert_eq!(c.engine.indicator_state(node, "system", "led").await.expect("state"), "on");
    let error = c.engine.indicator_state(node, "system", "nope").await.unwrap_err();
    assert_eq!(error.to_string(), "Invalid indicator nope specified.");
    assert!(matches!(
        c.engine.set_indicator_state(node, "system", "led", "off").await,
        Err(DeployError::Unsupported(_))
    ));
}
