//! The Python paper's two examples stay as short in Rust as the crate docs
//! say: the code lines between `// paper:begin` and `// paper:end` of each
//! example against those of the Python snippet quoted in its own docs, at
//! most 1.5 times as many, and the table in `src/lib.rs` quoting both
//! counts exactly.

const LIB: &str = include_str!("../src/lib.rs");

/// Lines that are neither blank nor a comment.
fn code_lines<'a>(lines: impl Iterator<Item = &'a str>, comment: &str) -> usize {
    lines
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(comment))
        .count()
}

/// (Python lines, Rust lines) of an example.
fn counts(source: &str) -> (usize, usize) {
    let python = source
        .split_once("//! ```python\n")
        .and_then(|(_, rest)| rest.split_once("//! ```"))
        .expect("the example quotes the Python original in a ```python block")
        .0;
    let python = code_lines(
        python
            .lines()
            .map(|line| line.strip_prefix("//!").unwrap_or(line)),
        "#",
    );
    let rust = source
        .split_once("\n// paper:begin\n")
        .and_then(|(_, rest)| rest.split_once("\n// paper:end"))
        .expect("the example marks the paper's code with // paper:begin and // paper:end")
        .0;
    (python, code_lines(rust.lines(), "//"))
}

/// The counts the crate docs quote for `example`.
fn quoted(example: &str) -> (usize, usize) {
    let marker = format!("(`{example}`) |");
    let row = LIB
        .lines()
        .find(|line| line.contains(&marker))
        .unwrap_or_else(|| panic!("src/lib.rs has no row for {example}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let number = |i: usize| -> usize {
        cells[i]
            .parse()
            .unwrap_or_else(|_| panic!("cell {i} of {row:?} is a count"))
    };
    (number(2), number(3))
}

fn check(example: &str, source: &str) {
    let (python, rust) = counts(source);
    assert!(
        python > 5,
        "{example}: the Python snippet has {python} lines"
    );
    assert!(
        2 * rust <= 3 * python,
        "{example}: {rust} Rust lines against {python} Python ones, over 1.5x"
    );
    assert_eq!(
        quoted(example),
        (python, rust),
        "{example}: the table in src/lib.rs is out of date"
    );
}

#[test]
fn the_serial_quick_start_is_at_most_one_and_a_half_times_the_python() {
    check(
        "serial_quickstart",
        include_str!("../examples/serial_quickstart.rs"),
    );
}

#[test]
fn the_blueprint_example_is_at_most_one_and_a_half_times_the_python() {
    check(
        "blueprint_cache_scheduler",
        include_str!("../examples/blueprint_cache_scheduler.rs"),
    );
}
