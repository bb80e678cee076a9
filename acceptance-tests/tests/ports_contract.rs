//! The same contract suite the fake passes (in core's unit tests), run
//! against the real ports on the moto emulator and MariaDB — so the fake
//! stays honest.

use bbws_acceptance_tests::Stack;

#[test]
fn real_ports_honour_the_contract() {
    let stack = Stack::load();
    // SAFETY: this binary's only test sets the emulator's credentials
    // before any runtime thread exists or reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"));
        std::env::set_var("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"));
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        let ports = stack.ports().await;
        bbws_core::contract::run_all(&ports, &stack.platform()).await
    });
    if let Err(e) = result {
        panic!("the real ports break the contract:\n{e}");
    }
}
