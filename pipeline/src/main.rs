fn main() {
    std::process::exit(pipeline::cli::main(pipeline::nodes::registry));
}
