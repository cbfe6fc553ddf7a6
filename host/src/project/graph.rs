//! Job dependencies (`after`) must form no cycle.

use std::collections::HashMap;

/// A cycle among jobs: the names in order, the first repeated at the end.
pub fn find_cycle(edges: &[(String, Vec<String>)]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = edges
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    // Iterative depth-first search, keeping the path to report the cycle.
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let deps = &edges[node].1;
            if *next < deps.len() {
                let dep = &deps[*next];
                *next += 1;
                let Some(&d) = index.get(dep.as_str()) else {
                    continue;
                };
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Open;
                        stack.push((d, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|&(n, _)| n == d).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..]
                            .iter()
                            .map(|&(n, _)| edges[n].0.clone())
                            .collect();
                        cycle.push(edges[d].0.clone());
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(e: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        e.iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn chains_and_diamonds_have_no_cycle() {
        assert!(
            find_cycle(&g(&[
                ("a", &[]),
                ("b", &["a"]),
                ("c", &["a"]),
                ("d", &["b", "c"])
            ]))
            .is_none()
        );
    }

    #[test]
    fn a_cycle_is_reported_in_order() {
        let c = find_cycle(&g(&[
            ("a", &["c"]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("d", &[]),
        ]))
        .unwrap();
        assert_eq!(c, ["a", "c", "b", "a"]);
        let c = find_cycle(&g(&[("self", &["self"])])).unwrap();
        assert_eq!(c, ["self", "self"]);
    }
}
