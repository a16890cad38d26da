//! Compile errors and warnings: positions, rendering, and several errors per compilation.

mod common;

use cockpit_cc::{Severity, compile};
use common::*;

/// The (line, column, message) of every error.
fn errors(src: &str) -> Vec<(u32, u32, String)> {
    compile_err(src)
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.line, d.column, d.message.clone()))
        .collect()
}

/// Asserts that compiling `src` gives exactly one error, whose message contains `needle`.
fn single_error(src: &str, needle: &str) -> (u32, u32) {
    let errs = errors(src);
    assert_eq!(
        errs.len(),
        1,
        "expected one error for {src:?}, got {errs:#?}"
    );
    assert!(
        errs[0].2.contains(needle),
        "message {:?} does not contain {needle:?}",
        errs[0].2
    );
    (errs[0].0, errs[0].1)
}

#[test]
fn rendering_has_position_source_line_and_caret() {
    let src = "void setup() {\n    int x = 1;\n    y = x;\n}\nvoid loop() {}\n";
    let d = compile_err(src);
    let text = d.to_string();
    let expected = "\
blink.ino:3:5: error: undefined variable 'y'
 3 |     y = x;
   |     ^
1 error
";
    let text_for_file = text.replace("test.ino", "blink.ino");
    assert_eq!(text_for_file, expected);
    let first = d.iter().next().unwrap();
    assert_eq!(
        (first.file.as_str(), first.line, first.column),
        ("test.ino", 3, 5)
    );
    // The caret underlines the whole token.
    let d = compile_err("int main() { return undefined_thing; }");
    assert!(d.to_string().contains("^~~~~~~~~~~~~~~"), "{d}");
    // Diagnostics is a std error.
    let _: &dyn std::error::Error = &d;
}

#[test]
fn caret_lines_up_under_tabs() {
    let d = compile_err("int main() {\n\tint a = 1;\n\t\tb = a;\n}");
    let text = d.to_string();
    assert!(
        text.contains("test.ino:3:3: error: undefined variable 'b'"),
        "{text}"
    );
    assert!(text.contains(" 3 | \t\tb = a;\n   | \t\t^\n"), "{text:?}");
}

#[test]
fn several_errors_in_one_compilation() {
    let src = r#"
int main() {
    int a = undefined1;
    a = undefined2 + 1;
    missing(3);
    int a = 2;
    break;
    return 0;
}
"#;
    let errs = errors(src);
    let summary: Vec<_> = errs
        .iter()
        .map(|(l, c, m)| format!("{l}:{c}: {m}"))
        .collect();
    assert_eq!(
        summary,
        vec![
            "3:13: undefined variable 'undefined1'",
            "4:9: undefined variable 'undefined2'",
            "5:5: undefined function 'missing'",
            "6:9: redeclaration of 'a'",
            "7:5: 'break' outside of a loop",
        ]
    );
    assert!(compile_err(src).to_string().ends_with("5 errors\n"));
}

#[test]
fn parser_resynchronises_after_syntax_errors() {
    let src = r#"
int main() {
    int a = 1 +;
    a = (2 * 3;
    if (a > 1 { a = 2; }
    int b = 3
    return b +* 2;
}
int ok() { return 1 }
void loop() {}
"#;
    let errs = errors(src);
    let lines: Vec<u32> = errs.iter().map(|e| e.0).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 9], "{errs:#?}");
    assert!(
        errs[0].2.contains("expected an expression, found ';'"),
        "{errs:#?}"
    );
    assert!(errs[1].2.contains("expected ')'"), "{errs:#?}");
    assert_eq!(
        (errs[3].1, errs[3].2.as_str()),
        (14, "expected ';', found keyword 'return'")
    );
}

#[test]
fn semantic_errors() {
    single_error("int main() { int x; return x(1); }", "not a function");
    single_error(
        "int f(int a) { return a; } int main() { return f(1, 2); }",
        "expects 1 argument, but 2 were given",
    );
    single_error(
        "int f(int a, int b) { return a; } int main() { return f(); }",
        "expects 2 arguments, but 0 were given",
    );
    single_error(
        "void f() {} int main() { int x = f(); return 0; }",
        "'f' returns void",
    );
    single_error(
        "void f() {} int main() { return f() + 1; }",
        "'f' returns void",
    );
    single_error(
        "void f() { return 1; } int main() { return 0; }",
        "should not return a value",
    );
    single_error(
        "int f() { return; } int main() { return 0; }",
        "must return a value",
    );
    single_error(
        "int x; int x; int main() { return 0; }",
        "redefinition of 'x'",
    );
    single_error(
        "int f() { return 1; } int f() { return 2; } int main() { return 0; }",
        "redefinition of function 'f'",
    );
    single_error(
        "int f(int a); void f(int a) {} int main() { return 0; }",
        "conflicting types",
    );
    single_error(
        "int f(int a, int a) { return a; } int main() { return 0; }",
        "redefinition of parameter 'a'",
    );
    single_error("int main() { continue; }", "'continue' outside of a loop");
    single_error(
        "int g = 1; int h = g + 1; int main() { return 0; }",
        "not a constant expression",
    );
    single_error(
        "int main() { int a[3]; return 0; }",
        "arrays must be declared at global scope",
    );
    single_error("int a[65]; int main() { return 0; }", "between 1 and 64");
    single_error(
        "int a[2] = {1, 2, 3}; int main() { return 0; }",
        "too many initializers",
    );
    single_error(
        "int a[3]; int main() { return a; }",
        "used without an index",
    );
    single_error(
        "int a[3]; int main() { a = 1; return 0; }",
        "cannot assign to array",
    );
    single_error("int main() { 3 = 4; return 0; }", "not assignable");
    single_error("int main() { HIGH = 4; return 0; }", "built-in");
    single_error("const int K = 1; int main() { K = 2; return 0; }", "const");
    single_error("int delay = 3; int main() { return 0; }", "built-in");
    single_error(
        "int main() { int x = \"str\"; return 0; }",
        "string literals can only be used as printf arguments",
    );
    single_error(
        "int f(); int main() { return f(); }",
        "declared but never defined",
    );
    single_error(
        "void loop(int x) {} void setup() {}",
        "must not take parameters",
    );
    single_error("int helper() { return 1; }", "no entry point");
    single_error("void x; int main() { return 0; }", "declared void");
    single_error("int main() { long long x; return 0; }", "long long");
    single_error(
        "int main() { int y = 1; y(); return 0; }",
        "is a variable, not a function",
    );
    single_error(
        "int main() { digitalWrite(1); return 0; }",
        "expects 2 arguments",
    );
}

#[test]
fn printf_checks() {
    single_error(
        "int main() { printf(\"%d %d\\n\", 1); return 0; }",
        "2 conversions but 1 argument was given",
    );
    single_error(
        "int main() { printf(\"x\\n\", 1); return 0; }",
        "0 conversions but 1 argument was given",
    );
    single_error(
        "int main() { int v = 1; printf(\"%s\", v); return 0; }",
        "%s must be a string literal",
    );
    single_error("int main() { printf(\"%d\", \"s\"); return 0; }", "use %s");
    single_error(
        "int main() { printf(\"%5d\", 1); return 0; }",
        "unsupported printf conversion '%5'",
    );
    single_error("int main() { printf(\"100%\"); return 0; }", "lone '%'");
    single_error(
        "int main() { int f = 1; printf(f); return 0; }",
        "must be a string literal",
    );
    single_error(
        "int main() { int v = printf(\"x\"); return 0; }",
        "'printf' returns void",
    );
}

#[test]
fn limits_are_compile_errors() {
    let mut src = String::new();
    for i in 0..65 {
        src.push_str(&format!("int g{i};\n"));
    }
    src.push_str("int main() { return 0; }");
    let (line, _) = single_error(&src, "too many global variables (at most 64)");
    assert_eq!(line, 65);

    let mut src = String::new();
    for i in 0..17 {
        src.push_str(&format!("int a{i}[2];\n"));
    }
    src.push_str("int main() { return 0; }");
    single_error(&src, "too many arrays (at most 16)");

    single_error(
        "int main() { return 4294967296; }",
        "does not fit in 32 bits",
    );
}

#[test]
fn lexical_errors() {
    single_error(
        "int main() { int a = 1 @ 2; return 0; }",
        "unexpected character '@'",
    );
    single_error(
        "int main() { printf(\"abc); return 0; }",
        "unterminated string",
    );
    single_error(
        "int main() { printf(\"\\q\"); return 0; }",
        "unknown escape",
    );
    single_error(
        "int main() { printf(\"\\x41BC\"); return 0; }",
        "hex escape sequence out of range",
    );
    single_error(
        "int main() { printf(\"\\777\"); return 0; }",
        "octal escape sequence out of range",
    );
    single_error("int main() { return 0; } /* open", "unterminated comment");
    single_error("#define X 3\nint main() { return 0; }", "preprocessor");
    // #include lines are accepted and ignored.
    compile_ok("#include <Arduino.h>\nint main() { return 0; }");
}

#[test]
fn warnings_do_not_fail_the_compilation() {
    let c = compile_ok("int a[4]; int main() { int x = 1; x + 1; a[4] = 1; return x / 0; }");
    let w: Vec<_> = c.warnings.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        w,
        vec![
            "statement has no effect",
            "index 4 is out of bounds for an array of 4 elements",
            "division by zero",
        ]
    );
    assert!(c.warnings.iter().all(|d| d.severity == Severity::Warning));
    assert!(
        c.warnings
            .to_string()
            .contains("test.ino:1:35: warning: statement has no effect")
    );
}

#[test]
fn errors_and_warnings_are_reported_together_in_source_order() {
    let d = compile_err("int main() {\n 1;\n return nope;\n}");
    assert_eq!(d.len(), 2);
    assert_eq!(d.error_count(), 1);
    let lines: Vec<_> = d.iter().map(|x| (x.line, x.severity)).collect();
    assert_eq!(lines, vec![(2, Severity::Warning), (3, Severity::Error)]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = format!(
        "int main() {{ return {}1{}; }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let errs = errors(&src);
    assert!(
        errs.iter().any(|e| e.2.contains("nesting too deep")),
        "{errs:?}"
    );
    let src = format!("int main() {{ return 1{}; }}", " + 1".repeat(5000));
    let errs = errors(&src);
    assert!(
        errs.iter().any(|e| e.2.contains("too deeply nested")),
        "{errs:?}"
    );
    let src = format!("int main() {{ {} return 0; }}", "{".repeat(3000));
    assert!(compile(&src, "deep.ino").is_err());
    let src = format!("int main() {{ return {}1; }}", "-".repeat(3000));
    assert!(compile(&src, "deep.ino").is_err());
}

#[test]
fn deep_input_is_safe_on_a_small_caller_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            let deepest_ok = format!(
                "int main() {{ return {}1{}; }}",
                "(".repeat(120),
                ")".repeat(120)
            );
            assert!(compile(&deepest_ok, "ok.ino").is_ok());
            let blocks = format!(
                "int main() {{ {} return 0; {} }}",
                "{".repeat(250),
                "}".repeat(250)
            );
            assert!(compile(&blocks, "blocks.ino").is_ok());
            let too_deep = format!(
                "int main() {{ return {}1{}; }}",
                "(".repeat(20000),
                ")".repeat(20000)
            );
            assert!(compile(&too_deep, "deep.ino").is_err());
        })
        .unwrap();
    handle.join().unwrap();
}
