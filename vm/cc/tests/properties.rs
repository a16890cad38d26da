//! Property tests: the compiler never panics, and constant folding, the VM at run time and a
//! reference evaluator agree on random expressions.

mod common;

use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the compiler.
    #[test]
    fn arbitrary_strings_never_panic(src in "\\PC*") {
        let _ = cockpit_cc::compile(&src, "fuzz.ino");
    }

    /// Soups of C-like tokens (much likelier to get deep into the parser) never panic.
    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..120)) {
        let src = tokens.join(" ");
        if let Err(d) = cockpit_cc::compile(&src, "soup.ino") {
            // Rendering never panics either, and every error has a position.
            let text = d.to_string();
            prop_assert!(text.contains("soup.ino:"));
        }
    }

    /// Valid programs with a mutated character never panic.
    #[test]
    fn mutated_programs_never_panic(pos in 0usize..400, ch in prop::char::any()) {
        let mut chars: Vec<char> = SAMPLE.chars().collect();
        let i = pos % chars.len();
        chars[i] = ch;
        let src: String = chars.into_iter().collect();
        let _ = cockpit_cc::compile(&src, "mut.ino");
        let cut: String = SAMPLE.chars().take(pos).collect();
        let _ = cockpit_cc::compile(&cut, "cut.ino");
    }
}

const TOKENS: &[&str] = &[
    "int",
    "unsigned",
    "long",
    "void",
    "bool",
    "byte",
    "char",
    "const",
    "if",
    "else",
    "while",
    "for",
    "do",
    "break",
    "continue",
    "return",
    "main",
    "setup",
    "loop",
    "x",
    "y",
    "a",
    "f",
    "printf",
    "delay",
    "HIGH",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ",",
    "?",
    ":",
    "=",
    "==",
    "+=",
    "<<=",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<<",
    ">>",
    "&&",
    "||",
    "!",
    "~",
    "++",
    "--",
    "0",
    "1",
    "65536",
    "0xFFFFFFFF",
    "\"%d\\n\"",
    "\"%s\"",
    "'c'",
    "int main() {",
    "void setup() {",
    "int a[3] = {1, 2, 3};",
    "return 0; }",
];

const SAMPLE: &str = r#"
int counter = 5;
int table[4] = {1, 2, 3, 4};
int add(int a, int b) { return a + b; }
void setup() {
    pinMode(LED_BUILTIN, OUTPUT);
    for (int i = 0; i < 4; i++) { table[i] += add(i, counter); }
    printf("%d %s\n", table[2], "ok");
}
void loop() { counter = counter ? counter - 1 : 10; delay(100); }
"#;

/// A random integer expression and its value under C semantics with 32-bit `int`.
#[derive(Clone, Debug)]
enum E {
    Var(usize),
    Lit(i32),
    Un(&'static str, Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    Cond(Box<E>, Box<E>, Box<E>),
}

const VALUES: [i32; 4] = [7, -3, 100_000, -2_000_000_000];

fn eval_ref(e: &E) -> i32 {
    match e {
        E::Var(i) => VALUES[*i],
        E::Lit(v) => *v,
        E::Un(op, x) => {
            let v = eval_ref(x);
            match *op {
                "-" => v.wrapping_neg(),
                "~" => !v,
                _ => i32::from(v == 0),
            }
        }
        E::Bin(op, a, b) => {
            let a = eval_ref(a);
            let b = eval_ref(b);
            match *op {
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" => a.wrapping_div(b | 1),
                "%" => a.wrapping_rem(b | 1),
                "<<" => a.wrapping_shl((b & 31) as u32),
                ">>" => a >> (b & 31),
                "&" => a & b,
                "|" => a | b,
                "^" => a ^ b,
                "<" => i32::from(a < b),
                "<=" => i32::from(a <= b),
                ">" => i32::from(a > b),
                ">=" => i32::from(a >= b),
                "==" => i32::from(a == b),
                "!=" => i32::from(a != b),
                "&&" => i32::from(a != 0 && b != 0),
                _ => i32::from(a != 0 || b != 0),
            }
        }
        E::Cond(c, t, f) => {
            if eval_ref(c) != 0 {
                eval_ref(t)
            } else {
                eval_ref(f)
            }
        }
    }
}

/// Renders `e`, with variables as names (`runtime`) or as literals.
fn render(e: &E, runtime: bool) -> String {
    match e {
        E::Var(i) if runtime => ["a", "b", "c", "d"][*i].to_string(),
        E::Var(i) => format!("({})", VALUES[*i]),
        E::Lit(v) => format!("({v})"),
        E::Un(op, x) => format!("{op}({})", render(x, runtime)),
        E::Bin(op, a, b) => {
            let (a, b) = (render(a, runtime), render(b, runtime));
            match *op {
                "/" | "%" => format!("({a} {op} ({b} | 1))"),
                "<<" | ">>" => format!("({a} {op} ({b} & 31))"),
                _ => format!("({a} {op} {b})"),
            }
        }
        E::Cond(c, t, f) => format!(
            "({} ? {} : {})",
            render(c, runtime),
            render(t, runtime),
            render(f, runtime)
        ),
    }
}

fn expr_strategy() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        (0usize..4).prop_map(E::Var),
        (-40_000i32..70_000).prop_map(E::Lit),
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        prop_oneof![
            (prop::sample::select(vec!["-", "~", "!"]), inner.clone())
                .prop_map(|(op, x)| E::Un(op, Box::new(x))),
            (
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "<", "<=", ">", ">=", "==",
                    "!=", "&&", "||",
                ]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, t, f)| E::Cond(
                Box::new(c),
                Box::new(t),
                Box::new(f)
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Folded at compile time, computed by the VM, and the Rust reference all agree.
    #[test]
    fn folding_runtime_and_reference_agree(e in expr_strategy()) {
        let expected = eval_ref(&e).to_string();
        let folded = main_output("", &format!("printf(\"%d\", {}); return 0;", render(&e, false)));
        let decls = format!(
            "long a = {}; long b = {}; long c = {}; long d = {};",
            VALUES[0], VALUES[1], VALUES[2], VALUES[3]
        );
        let runtime = main_output(&decls, &format!("printf(\"%d\", {}); return 0;", render(&e, true)));
        prop_assert_eq!(&folded, &expected, "folded {}", render(&e, false));
        prop_assert_eq!(&runtime, &expected, "runtime {}", render(&e, true));
    }
}
