//! The best few of many: the first `n` in order without sorting the rest
//! (related products and picks rank thousands of candidates to show a dozen).

use std::cmp::Ordering;

/// Puts the first `n` of `items` under `order` at the front, in order, and
/// returns them (all of them, sorted, when there are no more than `n`).
pub(crate) fn best_first<T>(
    items: &mut [T],
    n: usize,
    order: impl Fn(&T, &T) -> Ordering,
) -> &mut [T] {
    if n == 0 {
        return &mut [];
    }
    if n < items.len() {
        items.select_nth_unstable_by(n - 1, &order);
        let head = &mut items[..n];
        head.sort_unstable_by(&order);
        head
    } else {
        items.sort_unstable_by(&order);
        items
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_n_in_order() {
        let mut v = vec![5, 1, 9, 3, 7, 2];
        assert_eq!(super::best_first(&mut v, 3, |a, b| b.cmp(a)), [9, 7, 5]);
        assert_eq!(super::best_first(&mut v, 10, Ord::cmp), [1, 2, 3, 5, 7, 9]);
        assert!(super::best_first(&mut v, 0, Ord::cmp).is_empty());
    }
}
