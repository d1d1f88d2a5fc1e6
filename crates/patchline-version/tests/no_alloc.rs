//! Comparing parsed versions must not allocate: the matcher parses a package
//! version once and compares it with every range bound of every advisory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use patchline_version::Scheme;

struct Counting;

thread_local! {
    // `const` initialisation: touching it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn comparing_parsed_versions_does_not_allocate() {
    let cases: &[(Scheme, &[&str])] = &[
        (
            Scheme::Dpkg,
            &["1:2.30-4+deb12u1", "2.30~rc1-1", "2.30-4", "0:2.30-10"],
        ),
        (
            Scheme::Rpm,
            &[
                "2:1.1.1k-12.el8_9",
                "1.1.1k",
                "1.1.1k~rc1-1",
                "1.1.1^git2-1",
            ],
        ),
        (
            Scheme::Apk,
            &[
                "1.2.3_rc1-r0",
                "1.2.3-r10",
                "1.2.3_p1~ab12-r0",
                "6.0.2p1-r3",
                "1.0bc",
            ],
        ),
        (
            Scheme::Pep440,
            &[
                "1!2.0rc1.post2.dev3+local.7",
                "2.0",
                "2.0+abc.1",
                "2013-01-21T20:33",
                "0.3m1",
            ],
        ),
        (
            Scheme::Semver,
            &[
                "1.2.3-alpha.1+build",
                "1.2.3-alpha.beta",
                "1.2.3",
                "v1.2.3-ALPHA",
            ],
        ),
        (
            Scheme::Go,
            &[
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.3",
                "v2.0.0+incompatible",
                "1",
            ],
        ),
        (
            Scheme::Maven,
            &[
                "1.0.0-RC1",
                "1.0-alpha-1-SNAPSHOT",
                "1.0.final-redhat",
                "1-sp1",
                "é.ζέβρα",
            ],
        ),
        (
            Scheme::Gem,
            &["1.0.0.pre.rc1", "1.0-beta", "1.0.a10", "1.0", "1beta"],
        ),
        (
            Scheme::Nuget,
            &["1.0.0.1-Beta.2+meta", "1.0.0-beta.10", "1.0", "1.0.0.1"],
        ),
        (
            Scheme::Composer,
            &["v1.0.0-RC1", "1.0.0rc1", "1.0-p2", "dev-master", "1.2.3.#"],
        ),
    ];
    // The counter works: parsing does allocate.
    let before = allocations();
    let v = Scheme::Dpkg.parse("1.0").unwrap();
    assert!(allocations() > before, "allocation counter is not counting");
    drop(v);

    for &(scheme, inputs) in cases {
        let parsed: Vec<_> = inputs.iter().map(|v| scheme.parse(v).unwrap()).collect();
        let before = allocations();
        let mut checksum = 0i32;
        for a in &parsed {
            for b in &parsed {
                checksum += a.cmp(b) as i32;
                checksum += i32::from(a == b) + i32::from(a < b);
            }
        }
        let after = allocations();
        assert_eq!(after - before, 0, "{scheme}: comparisons allocated");
        std::hint::black_box(checksum);
    }
}
