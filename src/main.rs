//! The `mclcr` binary: a thin shell over [`mclcr::cli`].

fn main() -> std::process::ExitCode {
    mclcr::cli::main()
}
