//! The app's IPC commands through Tauri's mock runtime (no display, no D-Bus): a window
//! invokes `desktop_status` exactly as `ui/js/api.js` does and reads the tray's view.

use std::time::Instant;

use relaywatch_core::config::Settings;
use relaywatch_desktop::app::Shell;
use relaywatch_desktop::backend::Backend;

fn invoke(
    wv: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    tauri::test::get_ipc_response(
        wv,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        },
    )
    .map(|r| r.deserialize::<serde_json::Value>().unwrap())
}

#[test]
fn desktop_status_reports_demo_data_before_any_refresh() {
    let backend = Backend::new(Settings::default(), None, None);
    let shell = Shell::new(backend, None, Instant::now());
    let app = tauri::test::mock_builder()
        .manage(shell)
        .invoke_handler(tauri::generate_handler![
            relaywatch_desktop::commands::desktop_status
        ])
        .build(tauri::generate_context!())
        .unwrap();
    let wv = tauri::WebviewWindowBuilder::new(&app, "dashboard", Default::default())
        .build()
        .unwrap();
    let v = invoke(&wv, "desktop_status", serde_json::json!({})).unwrap();
    assert_eq!(v["demo"], true, "{v}");
    assert_eq!(v["engine"], false, "{v}");
    assert_eq!(v["state"], "offline", "{v}");
    assert!(
        v["menu"]["status"].as_str().unwrap().contains("demo data"),
        "{v}"
    );
}
