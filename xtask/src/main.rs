//! Repository tasks. `cargo run -p xtask -- codegen [--check]` generates the model tables in
//! `crates/model/src/generated/` from botocore's service models.

mod codegen;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = args.iter().skip(1).any(|a| a == "--check");
            match codegen::run(check) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("xtask codegen: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: cargo run -p xtask -- codegen [--check]");
            eprintln!("  BOTOCORE_DATA=<dir> overrides the botocore data directory (else found with python3)");
            ExitCode::FAILURE
        }
    }
}
