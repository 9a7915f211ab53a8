//! `ml-connector`: keeps a seller's SAP Business One books and Amazon Seller Central channel in
//! agreement. All logic lives in the `connector_app` library; see the README for the commands.

fn main() -> std::process::ExitCode {
    connector_app::cli::main()
}
