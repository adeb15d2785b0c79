//! The process Lambda: wiring only. What it does lives in `inlet_core::process`; how it is put
//! together, in `inlet_aws::wiring`. It runs the config's routes; for your own Rust code, see
//! `shared/aws/examples/custom_handler.rs`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    inlet_aws::wiring::run_process(|routes| routes).await
}
