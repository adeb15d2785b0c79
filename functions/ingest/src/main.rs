//! The ingest Lambda: wiring only. What it does lives in `inlet_core::ingest`; how it is put
//! together, in `inlet_aws::wiring`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    inlet_aws::wiring::run_ingest().await
}
