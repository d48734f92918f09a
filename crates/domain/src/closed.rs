//! Closed lists of values (代码表): every value has a stable code and a meaning in English and in
//! Chinese, so that the API contract and messages can say what each value means.

/// A closed list of values with their meanings.
pub trait ClosedList: Copy + Sized + 'static {
    /// The list's name in the API contract (`HousingType`).
    const NAME: &'static str;
    /// What the list is, in English and Chinese.
    const ABOUT: (&'static str, &'static str);

    /// Every value, in the order the contract lists them.
    fn values() -> &'static [Self];
    /// The stable code sent on the wire.
    fn code(self) -> &'static str;
    /// What the value means, in English.
    fn meaning_en(self) -> &'static str;
    /// What the value means, in Chinese.
    fn meaning_zh(self) -> &'static str;

    /// Every code, in order.
    fn codes() -> Vec<&'static str> {
        Self::values().iter().map(|v| v.code()).collect()
    }

    /// The value with this code.
    fn from_code(code: &str) -> Option<Self> {
        Self::values().iter().copied().find(|v| v.code() == code)
    }
}

/// Declares a closed list: an enum serialised as its codes, with `ALL`, `as_str`, `FromStr`,
/// `Display` and [`ClosedList`].
///
/// ```
/// jiekun_domain::closed_list! {
///     /// Colours.
///     Colour ("colour", "颜色") {
///         Red = "red" ("red", "红色"),
///         Blue = "blue" ("blue", "蓝色"),
///     }
/// }
/// assert_eq!("red".parse::<Colour>().unwrap(), Colour::Red);
/// ```
#[macro_export]
macro_rules! closed_list {
    ($(#[$m:meta])* $name:ident ($about_en:literal, $about_zh:literal) {
        $($(#[$vm:meta])* $variant:ident = $s:literal ($en:literal, $zh:literal)),* $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }
        }

        impl $crate::closed::ClosedList for $name {
            const NAME: &'static str = stringify!($name);
            const ABOUT: (&'static str, &'static str) = ($about_en, $about_zh);
            fn values() -> &'static [Self] { Self::ALL }
            fn code(self) -> &'static str { self.as_str() }
            fn meaning_en(self) -> &'static str {
                match self { $($name::$variant => $en,)* }
            }
            fn meaning_zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::access::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)* _ => Err($crate::access::UnknownName) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Checks a list: codes unique and snake_case, every meaning given in both languages.
pub fn check<T: ClosedList>() -> Result<(), String> {
    let values = T::values();
    if values.is_empty() {
        return Err(format!("{} has no values", T::NAME));
    }
    for (i, v) in values.iter().enumerate() {
        let code = v.code();
        if values[..i].iter().any(|w| w.code() == code) {
            return Err(format!("{}: code {code} twice", T::NAME));
        }
        if v.meaning_en().trim().is_empty() || v.meaning_zh().trim().is_empty() {
            return Err(format!("{}: {code} lacks a meaning", T::NAME));
        }
    }
    Ok(())
}
