//! Compile-and-run tests: ArduinoC programs executed by the CockpitVM engine on a `TestHost`.

mod common;

use cockpit_vm::{Exit, FLAG_ARDUINO_LOOP, Program, VmError};
use common::*;

/// Evaluates `expr` twice: with its operands as literals (constant-folded by the compiler) and
/// with them held in global variables `a`..`e` (computed by the VM at run time).
fn both(vars: &[(&str, i64)], expr: &str) -> (String, String) {
    let mut folded = expr.to_string();
    for (name, v) in vars {
        folded = folded.replace(&format!("${name}"), &format!("({v})"));
    }
    let runtime_expr = expr.replace('$', "");
    let decls: String = vars
        .iter()
        .map(|(n, v)| {
            let ty = if *v > i32::MAX as i64 {
                "unsigned long"
            } else {
                "long"
            };
            format!("{ty} {n} = {v};\n")
        })
        .collect();
    let f = main_output("", &format!("printf(\"%d\", {folded}); return 0;"));
    let r = main_output(
        &decls,
        &format!("printf(\"%d\", {runtime_expr}); return 0;"),
    );
    (f, r)
}

fn check(vars: &[(&str, i64)], expr: &str, expected: i32) {
    let (f, r) = both(vars, expr);
    assert_eq!(f, expected.to_string(), "folded: {expr}");
    assert_eq!(r, expected.to_string(), "runtime: {expr}");
}

#[test]
fn precedence_and_left_associativity() {
    let v = [("a", 10), ("b", 4), ("c", 3), ("d", 100), ("e", 5)];
    check(&v, "$a - $b - $c", 3);
    check(&v, "$d / $a / $e", 2);
    check(&v, "2 + $c * $b", 14);
    check(&v, "($a - $b) - $c", 3);
    check(&v, "$a - ($b - $c)", 9);
    check(&v, "$a - $b + $c", 9);
    check(&v, "$d / $e * $b", 80);
    check(&v, "$d % 7 % 3", 2);
    check(&v, "1 << $c << 2", 32);
    check(&v, "$d >> 2 >> 1", 12);
    check(&v, "$a < $b == 0", 1);
    check(&v, "$a & 6 | 1", 3);
    check(&v, "$a ^ $b & $c", 10);
    check(&v, "1 | $b ^ $c", 7);
    check(&v, "$a + $b << 1", 28);
    check(&v, "$a > $b && $b > $c || 0", 1);
    check(&v, "!$a + ~$b", -5);
    check(&v, "-$a * -$b", 40);
    check(&v, "-($a + $b) * 2", -28);
    check(&v, "- -$a", 10);
    check(&v, "+$a - +$b", 6);
    check(&v, "$a ? $b : $c ? 7 : 8", 4);
    check(&v, "0 ? $b : $c ? 7 : 8", 7);
    check(&v, "$a - $b == 6 ? $d : -$d", 100);
}

#[test]
fn negative_numbers_and_32_bit_constants() {
    check(&[], "-42", -42);
    check(&[], "100000", 100000);
    check(&[], "-100000", -100000);
    check(&[], "0x7FFFFFFF", i32::MAX);
    check(&[], "-32768", -32768);
    check(&[], "65535", 65535);
    check(&[], "65536", 65536);
    check(&[], "-65536", -65536);
    check(&[("a", 100000)], "$a * 3", 300000);
    check(&[("a", 70000), ("b", -70000)], "$a + $b", 0);
    let r = run(
        "long g = -100000; unsigned long u = 0xFFFFFFFF; long big = 0x12345678; int main() { return 0; }",
    );
    assert_eq!(r.global("g"), -100000);
    assert_eq!(r.global("u"), -1);
    assert_eq!(r.global("big"), 0x12345678);
    // Overflow wraps like 32-bit C.
    check(&[("a", 0x7FFFFFFF)], "$a + 1", i32::MIN);
}

#[test]
fn division_and_modulo_truncate_toward_zero() {
    let v = [("a", -7), ("b", 2)];
    check(&v, "$a / $b", -3);
    check(&v, "$a % $b", -1);
    check(&v, "7 % -$b", 1);
    check(&v, "$a >> 1", -4);
}

#[test]
fn signed_versus_unsigned() {
    // Signed comparison.
    check(&[("a", -1), ("b", 1)], "$a < $b", 1);
    check(&[("a", -1), ("b", 1)], "$a >= $b", 0);
    // Mixed signed/unsigned: the signed operand converts to unsigned, as in C.
    assert_eq!(eval("-1 < 1u"), 0);
    assert_eq!(
        main_output(
            "unsigned u = 1; int s = -1;",
            "printf(\"%d %d %d %d\", s < u, s > u, s <= u, s >= u); return 0;"
        ),
        "0 1 0 1"
    );
    assert_eq!(
        main_output(
            "unsigned long u = 0xFFFFFFF0; int s = 16;",
            "printf(\"%u %u %u\", u / s, u % 7, u >> 4); return 0;"
        ),
        "268435455 2 268435455"
    );
    // A hex literal above INT_MAX is unsigned.
    assert_eq!(eval("0xFFFFFFFF > 0"), 1);
    assert_eq!(eval("-1 > 0"), 0);
    assert_eq!(eval_u("0xFFFFFFFF / 2"), 0x7FFF_FFFF);
    assert_eq!(eval("(int)0xFFFFFFFF / 2"), 0);
    // millis() is unsigned long.
    assert_eq!(
        main_output("", "printf(\"%d\", millis() - 10 > 0); return 0;"),
        "1"
    );
}

#[test]
fn compound_assignments_on_locals_globals_and_arrays() {
    let src = r#"
        int g = 100;
        int arr[4];
        int main() {
            int x = 7;
            x += 5; printf("%d ", x);
            x -= 2; printf("%d ", x);
            x *= 3; printf("%d ", x);
            x /= 4; printf("%d ", x);
            x %= 4; printf("%d ", x);
            x = 12;
            x &= 10; printf("%d ", x);
            x |= 5; printf("%d ", x);
            x ^= 3; printf("%d ", x);
            x <<= 4; printf("%d ", x);
            x >>= 2; printf("%d\n", x);
            g -= 1; g *= 2; g >>= 1; printf("%d ", g);
            arr[1] = 5; arr[1] += 10; arr[1] <<= 1; arr[1] -= 1; printf("%d\n", arr[1]);
            return 0;
        }
    "#;
    assert_eq!(output(src), "12 10 30 7 3 8 13 14 224 56\n99 29\n");
}

#[test]
fn assignment_is_an_expression() {
    let src = r#"
        int a; int b; int arr[3];
        int main() {
            int x; int y;
            a = b = 5;
            x = y = a + 1;
            printf("%d %d %d %d ", a, b, x, y);
            printf("%d ", (x = 3) + (y = 4));
            printf("%d %d ", x, y);
            arr[0] = arr[2] = 9;
            printf("%d %d ", arr[0], arr[2]);
            printf("%d ", (arr[1] += 4) * 2);
            x = 1; y = (x += 2) * 10;
            printf("%d %d", x, y);
            return 0;
        }
    "#;
    assert_eq!(output(src), "5 5 6 6 7 3 4 9 9 8 3 30");
}

#[test]
fn array_index_is_evaluated_once() {
    let src = r#"
        int arr[8];
        int calls;
        int next() { calls++; return calls; }
        int main() {
            arr[next()] = 10;          // index 1
            arr[next()] += 5;          // index 2: 0 + 5
            int v = (arr[next()] = 7); // index 3
            int w = (arr[next()] *= 2);// index 4: 0
            arr[next()]++;             // index 5
            int p = arr[next()]--;     // index 6
            int q = ++arr[next()];     // index 7
            printf("%d %d %d %d %d %d %d %d %d %d %d", calls, arr[1], arr[2], arr[3], v, w, arr[5], arr[6], p, arr[7], q);
            return 0;
        }
    "#;
    assert_eq!(output(src), "7 10 5 7 7 0 1 -1 0 1 1");
}

#[test]
fn increment_and_decrement() {
    let src = r#"
        int g = 5;
        int main() {
            int i = 1;
            int a = i++; int b = ++i; int c = i--; int d = --i;
            printf("%d %d %d %d %d ", a, b, c, d, i);
            g++; ++g; g--;
            printf("%d %d %d", g, g++ + g++, g);
            return 0;
        }
    "#;
    assert_eq!(output(src), "1 3 3 1 1 6 13 8");
}

#[test]
fn short_circuit_does_not_evaluate_the_right_operand() {
    let src = r#"
        int calls;
        int f() { calls = calls + 1; return 1; }
        int main() {
            int r1 = 0 && f();
            int r2 = 1 || f();
            int zero = 0; int one = 1;
            int r3 = zero && f();
            int r4 = one || f();
            printf("%d %d %d %d calls=%d ", r1, r2, r3, r4, calls);
            int r5 = one && f();
            int r6 = zero || f();
            int r7 = 5 && 7;
            int r8 = one && 42;
            printf("%d %d %d %d calls=%d ", r5, r6, r7, r8, calls);
            zero && f();
            one || f();
            one && f();
            printf("calls=%d", calls);
            return 0;
        }
    "#;
    assert_eq!(output(src), "0 1 0 1 calls=0 1 1 1 1 calls=2 calls=3");
}

#[test]
fn ternary_only_evaluates_the_chosen_branch() {
    let src = r#"
        int hits;
        int hit(int v) { hits = hits + 1; return v; }
        int main() {
            int c = 1;
            int x = c ? hit(10) : hit(20);
            int y = !c ? hit(30) : hit(40);
            int z = c > 0 ? c > 1 ? 1 : 2 : 3;
            printf("%d %d %d hits=%d", x, y, z, hits);
            return 0;
        }
    "#;
    assert_eq!(output(src), "10 40 2 hits=2");
}

#[test]
fn unary_minus_and_bitwise_not_on_expressions() {
    let v = [("a", 3), ("b", 4)];
    check(&v, "-($a * $b)", -12);
    check(&v, "-$a - -$b", 1);
    check(&v, "~($a | $b)", -8);
    check(&v, "!($a - 3)", 1);
    check(&v, "!!$b", 1);
}

#[test]
fn hex_char_and_octal_literals() {
    check(&[], "0x10 + 0XfF", 271);
    check(&[], "'A' + 1", 66);
    check(&[], "'\\n'", 10);
    check(&[], "010", 8);
    check(&[], "0b101", 5);
}

#[test]
fn string_escapes() {
    assert_eq!(
        main_output(
            "",
            r#"printf("a\tb\\c\"d\re\n"); printf("%c", 'x'); return 0;"#
        ),
        "a\tb\\c\"d\re\nx"
    );
}

/// C's printf stops at a NUL in the format or in a `%s` string (found by differential testing:
/// the bytes after it used to be printed, NUL included).
#[test]
fn printf_stops_at_an_embedded_nul() {
    let out = run(r#"int main() { printf("nul:\0after"); return 0; }"#)
        .host
        .console;
    assert_eq!(out, b"nul:");
    assert_eq!(
        main_output("", r#"printf("[%s]%d\n", "x\0y", 5); return 0;"#),
        "[x]5\n"
    );
    // Conversions after the NUL are not part of the format.
    assert_eq!(main_output("", r#"printf("%d\0%d", 7); return 0;"#), "7");
}

/// C octal escapes take one to three digits and hex escapes every following hex digit (found by
/// differential testing: `"\012"` used to be NUL, '1', '2' and `'\01'` was rejected).
#[test]
fn octal_and_greedy_hex_escapes() {
    assert_eq!(
        main_output(
            "",
            r#"printf("[\101\102\060k\012]"); printf("%d %d %d %d", '\01', '\7', '\012', '\x041'); return 0;"#
        ),
        "[AB0k\n]1 7 10 65"
    );
    assert_eq!(eval(r"'\0'"), 0);
}

/// `char` is signed, so a character constant above 0x7F is negative, as in C with gcc
/// (it used to be 255 for '\xFF').
#[test]
fn character_constants_are_signed_char_values() {
    assert_eq!(eval(r"'\377'"), -1);
    assert_eq!(eval(r"'\x80'"), -128);
    assert_eq!(eval(r"'\x7F'"), 127);
    assert_eq!(
        main_output(
            "",
            r#"char c = '\xFF'; printf("%d", c == '\xFF'); return 0;"#
        ),
        "1"
    );
}

#[test]
fn printf_conversions() {
    let src = r#"
        int main() {
            int n = -42; unsigned u = 4000000000; int h = 255;
            printf("%d|%i|%u|%x|%X|%c|%s|%%|%s\n", n, n, u, h, h, 'Z', "str", "another");
            printf("adjacent " "literals\n");
            printf("%s %s\n", "same", "same");
            return 0;
        }
    "#;
    assert_eq!(
        output(src),
        "-42|-42|4000000000|ff|FF|Z|str|%|another\nadjacent literals\nsame same\n"
    );
}

#[test]
fn loops_break_and_continue() {
    let src = r#"
        int main() {
            int sum = 0;
            for (int i = 0; i < 10; i++) {
                if (i == 7) break;
                if (i % 2) continue;
                sum += i;
            }
            printf("%d ", sum);            // 0+2+4+6
            int n = 0;
            do { n++; } while (n < 5);
            printf("%d ", n);
            do { n = 100; } while (0);
            printf("%d ", n);
            int k = 0;
            while (1) { k++; if (k >= 3) break; }
            printf("%d ", k);
            int count = 0;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    if (j == 2) continue;
                    count++;
                }
            printf("%d ", count);
            int m = 0;
            do { m++; if (m < 3) continue; break; } while (1);
            printf("%d ", m);
            for (;;) { m++; if (m > 10) break; }
            printf("%d ", m);
            int a, b;
            for (a = 0, b = 10; a < b; a++, b--) {}
            printf("%d %d", a, b);
            return 0;
        }
    "#;
    assert_eq!(output(src), "12 5 100 3 9 3 11 5 5");
}

#[test]
fn block_scoping_and_shadowing() {
    let src = r#"
        int x = 1;
        int main() {
            printf("%d ", x);
            int x = 2;
            printf("%d ", x);
            {
                int x = 3;
                printf("%d ", x);
                { int x = x + 10; printf("%d ", x); }
                printf("%d ", x);
            }
            printf("%d ", x);
            for (int x = 9; x < 10; x++) printf("%d ", x);
            if (x) { int y = 5; printf("%d ", y); } else { int z = 6; printf("%d", z); }
            { int y; printf("%d", y); }
            return 0;
        }
    "#;
    assert_eq!(output(src), "1 2 3 13 3 2 9 5 0");
}

/// 64 frames: `main` plus 63 nested calls run; one more is a clean STACK_OVERFLOW fault.
#[test]
fn recursion_depth_limit() {
    let src = |n: u32| {
        format!(
            "int sum(int n) {{ return n == 0 ? 0 : n + sum(n - 1); }}\n\
             int main() {{ printf(\"%d\", sum({n})); return 0; }}"
        )
    };
    assert_eq!(output(&src(62)), (62 * 63 / 2).to_string());
    let r = run_with(&src(63), BUDGET);
    assert_eq!(r.exit.map_err(|f| f.error), Err(VmError::StackOverflow));
    assert_eq!(r.console(), "");
}

#[test]
fn recursion_fib_and_factorial() {
    let src = r#"
        int fib(int n) { if (n < 2) return n; return fib(n - 1) + fib(n - 2); }
        long fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
        int gcd(int a, int b) { while (b != 0) { int t = b; b = a % b; a = t; } return a; }
        int sub3(int a, int b, int c) { return a - b - c; }
        int main() {
            printf("%d %d %d %d %d", fib(15), fact(10), fact(12), gcd(1071, 462), sub3(10, 4, 3));
            return fib(10);
        }
    "#;
    let r = run(src);
    assert_eq!(r.console(), "610 3628800 479001600 21 3");
    // main's value is left on the stack.
    assert_eq!(r.vm.stack(), &[55]);
}

#[test]
fn prototypes_void_functions_and_falling_off_the_end() {
    let src = r#"
        int twice(int x);
        void show(int v);
        int nothing() { }
        int early(int v) { if (v > 0) return 1; }
        int main() {
            show(twice(21));
            printf("%d %d %d", nothing(), early(5), early(-5));
            twice(1);
            return 0;
        }
        void show(int v) { printf("[%d]", v); return; printf("unreachable"); }
        int twice(int x) { return x * 2; }
    "#;
    let r = run(src);
    assert_eq!(r.console(), "[42]0 1 0");
    assert_eq!(r.vm.stack(), &[0]);
}

#[test]
fn global_initializers_run_before_setup() {
    let src = r#"
        const int BASE = 40;
        int answer = BASE + 2;
        long neg = -(BASE * 1000);
        unsigned mask = ~0u >> 28;
        bool flag = 7;
        byte small = 300;
        char c = 200;
        int table[5] = {1, BASE, -3};
        int counter;
        void setup() {
            printf("%d %d %u %d %d %d %d %d %d %d\n", answer, neg, mask, flag, small, c, table[0], table[1], table[2], table[4]);
            counter = 0;
        }
        void loop() { counter++; }
    "#;
    let r = run_with(src, 10_000);
    assert_eq!(r.exit, Ok(Exit::Yielded));
    assert_eq!(r.console(), "42 -40000 15 1 44 -56 1 40 -3 0\n");
    assert!(
        r.global("counter") > 100,
        "loop ran repeatedly: {}",
        r.global("counter")
    );
    let program = Program::parse(&r.compiled.image).unwrap();
    assert_eq!(program.flags() & FLAG_ARDUINO_LOOP, FLAG_ARDUINO_LOOP);
}

#[test]
fn setup_loop_model_runs_loop_until_the_budget() {
    let src = r#"
        int n;
        void setup() { pinMode(LED_BUILTIN, OUTPUT); }
        void loop() {
            digitalWrite(LED_BUILTIN, n % 2 ? HIGH : LOW);
            n++;
            delay(500);
        }
    "#;
    let r = run_with(src, 1000);
    assert_eq!(r.exit, Ok(Exit::Yielded));
    assert_eq!(r.host.mode_log, vec![(13, 1)]);
    let writes = &r.host.digital_writes;
    assert!(writes.len() > 10, "loop ran {} times", writes.len());
    for (i, w) in writes.iter().enumerate() {
        assert_eq!(w.pin, 13);
        assert_eq!(w.value, (i % 2) as i32);
        assert_eq!(w.at_ms, 500 * i as u64, "delay(500) is 500 ms");
    }
    assert_eq!(r.global("n") as usize, writes.len());
}

#[test]
fn setup_without_loop_halts_and_main_has_no_loop_flag() {
    let r = run("void setup() { printf(\"once\"); }");
    assert_eq!(r.console(), "once");
    let program = Program::parse(&r.compiled.image).unwrap();
    assert_eq!(program.flags() & FLAG_ARDUINO_LOOP, 0);
    let r = run("int main() { printf(\"main\"); return 0; }");
    assert_eq!(Program::parse(&r.compiled.image).unwrap().flags(), 0);
}

#[test]
fn sieve_of_eratosthenes_with_arrays() {
    let src = r#"
        int composite[64];
        int primes[20];
        int main() {
            int count = 0;
            for (int i = 2; i < 64; i++) {
                if (composite[i]) continue;
                primes[count++] = i;
                for (int j = i * i; j < 64; j += i) composite[j] = 1;
            }
            for (int k = 0; k < count; k++) printf("%d ", primes[k]);
            return count;
        }
    "#;
    let r = run(src);
    assert_eq!(
        r.console(),
        "2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 "
    );
    assert_eq!(r.vm.stack(), &[18]);
    assert_eq!(r.vm.array(1).unwrap()[..3], [2, 3, 5]);
}

#[test]
fn array_initializer_lists_and_unsized_arrays() {
    let src = r#"
        int a[] = {5, 6, 7};
        unsigned u[2] = {0xFFFFFFFF, 3};
        int main() {
            printf("%d %d %d %u %u", a[0], a[1], a[2], u[0] / 2, u[1]);
            return 0;
        }
    "#;
    assert_eq!(output(src), "5 6 7 2147483647 3");
    let r = run_with("int a[3]; int main() { int i = 3; return a[i]; }", BUDGET);
    assert_eq!(r.exit.unwrap_err().error, VmError::MemoryBounds);
}

#[test]
fn hal_builtins() {
    let src = r#"
        int main() {
            pinMode(2, INPUT_PULLUP);
            pinMode(3, INPUT_PULLDOWN);
            pinMode(4, INPUT);
            analogWrite(5, 128);
            int d = digitalRead(6);
            int a = analogRead(7);
            printf("%d %d", d, a);
            delay(20);
            unsigned long t = millis();
            unsigned long us = micros();
            printf(" %d %d", t >= 20, us >= 20000);
            return 0;
        }
    "#;
    let compiled = compile_ok(src);
    let program = Program::parse(&compiled.image).unwrap();
    let mut vm = cockpit_vm::Vm::new();
    let mut host = cockpit_vm::testing::TestHost::new();
    host.digital_inputs.insert(6, 1);
    host.analog_inputs.insert(7, 3000);
    assert_eq!(vm.run(&program, &mut host, BUDGET), Ok(Exit::Halted));
    assert_eq!(host.console_text(), "1 3000 1 1");
    assert_eq!(host.mode_log, vec![(2, 2), (3, 3), (4, 0)]);
    assert_eq!(host.analog_writes[0].value, 128);
}

#[test]
fn narrow_types_are_truncated_on_store() {
    let src = r#"
        int main() {
            byte b = 250; b += 10;
            char c = 127; c++;
            bool f = 0; f = 42;
            unsigned short us = 70000;
            short s = 40000;
            printf("%d %d %d %d %d %d", b, c, f, us, s, (byte)513);
            return 0;
        }
    "#;
    assert_eq!(output(src), "4 -128 1 4464 -25536 1");
}

#[test]
fn image_metadata() {
    let src = "int a; int b = 2; int arr[3]; long c; void setup() {} void loop() {}";
    let compiled = cockpit_cc::compile(src, "dir/blinky.ino").unwrap();
    let program = Program::parse(&compiled.image).unwrap();
    let meta = program.metadata();
    assert_eq!(meta.name, "blinky");
    assert_eq!(meta.compiler_version, env!("CARGO_PKG_VERSION"));
    use sha2::Digest;
    let hash: [u8; 32] = sha2::Sha256::digest(src.as_bytes()).into();
    assert_eq!(meta.source_hash, Some(hash));
    let globals: Vec<_> = meta.globals().collect();
    assert_eq!(globals, vec![(0, "a"), (1, "b"), (2, "c")]);
    assert_eq!(compiled.instructions, program.instruction_count());
    assert!(compiled.warnings.is_empty());
}

#[test]
fn many_locals_and_deep_expressions() {
    // 64 globals are allowed; locals are frame slots.
    let mut src = String::new();
    for i in 0..64 {
        src.push_str(&format!("int g{i} = {i};\n"));
    }
    src.push_str("int main() { int sum = 0;\n");
    for i in 0..64 {
        src.push_str(&format!("int l{i} = g{i}; sum += l{i};\n"));
    }
    src.push_str("printf(\"%d\", sum); return 0; }");
    assert_eq!(output(&src), "2016");
    let chain = (1..=150)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    assert_eq!(eval(&chain), 11325);
    // The tallest accepted expression tree, generated (not folded) at run time.
    let chain = vec!["one"; 195].join(" + ");
    let body = format!("printf(\"%d\", {chain}); return 0;");
    assert_eq!(main_output("int one = 1;", &body), "195");
    let nested = format!("{}one{}", "(one + ".repeat(99), ")".repeat(99));
    let body = format!("printf(\"%d\", {nested}); return 0;");
    assert_eq!(main_output("int one = 1;", &body), "100");
}

#[test]
fn blinky_basic_from_the_original_guest_programs() {
    // tests/test_registry/guest_programs/blinky_basic.c (reference §5.7), with constants.
    let src = r#"
        void setup() {
            printf("Blinky basic starting\n");
            printf("Configuring pin %d\n", LED_BUILTIN);
            pinMode(LED_BUILTIN, OUTPUT);
            printf("Blinking 4 times\n");
            for (int i = 0; i < 4; i++) {
                digitalWrite(LED_BUILTIN, HIGH);
                delay(500);
                digitalWrite(LED_BUILTIN, LOW);
                delay(500);
            }
            printf("Guest program execution complete\n");
        }
        void loop() {}
    "#;
    let r = run_with(src, 100_000);
    assert_eq!(r.exit, Ok(Exit::Yielded));
    assert_eq!(
        r.console(),
        "Blinky basic starting\nConfiguring pin 13\nBlinking 4 times\nGuest program execution complete\n"
    );
    let times: Vec<_> = r
        .host
        .digital_writes
        .iter()
        .map(|w| (w.value, w.at_ms))
        .collect();
    assert_eq!(
        times,
        vec![
            (1, 0),
            (0, 500),
            (1, 1000),
            (0, 1500),
            (1, 2000),
            (0, 2500),
            (1, 3000),
            (0, 3500)
        ]
    );
}

#[test]
fn calls_with_many_arguments_and_nested_calls() {
    let src = r#"
        int pick(int a, int b, int c, int d, int e) { return a * 10000 + b * 1000 + c * 100 + d * 10 + e; }
        int inc(int x) { return x + 1; }
        int main() {
            int local = 3;
            printf("%d %d", pick(1, inc(1), local, inc(inc(2)), 5), inc(pick(0, 0, 0, 0, local)));
            return 0;
        }
    "#;
    assert_eq!(output(src), "12345 4");
}
