//! A seeded corpus of documents in many scripts for the search benchmark, and the
//! queries to time against it, each with the documents that hold its words.

use std::collections::HashSet;

/// One script's words, and how its text joins them.
pub(crate) struct Script {
    pub(crate) name: &'static str,
    words: &'static [&'static str],
    /// Put between words (empty for scripts written without spaces).
    joiner: &'static str,
    /// Particles or endings glued after some words (CJK, Korean).
    suffixes: &'static [&'static str],
}

pub(crate) const SCRIPTS: &[Script] = &[
    Script {
        name: "latin",
        words: &[
            "garden",
            "river",
            "market",
            "window",
            "letter",
            "summer",
            "winter",
            "coffee",
            "journey",
            "station",
            "mountain",
            "orange",
            "picture",
            "morning",
            "Straße",
            "Größe",
            "Mädchen",
            "Brücke",
            "Frühling",
            "café",
            "crème",
            "résumé",
            "théâtre",
            "forêt",
            "İstanbul",
            "ılık",
            "güzel",
            "çiçek",
            "şehir",
            "öğrenci",
        ],
        joiner: " ",
        suffixes: &[],
    },
    Script {
        name: "arabic",
        words: &[
            "مَكْتَبَة",
            "كِتَاب",
            "مدرسة",
            "قَلَم",
            "بيت",
            "شَمْس",
            "قمر",
            "طَالِب",
            "مدينة",
            "سُوق",
            "حديقة",
            "نَهْر",
            "سيارة",
            "قَهْوَة",
            "صديق",
        ],
        joiner: " ",
        suffixes: &[],
    },
    Script {
        name: "japanese",
        words: &[
            "寿司",
            "旅行",
            "京都",
            "東京",
            "食べ物",
            "写真",
            "電車",
            "図書館",
            "天気",
            "友達",
            "勉強",
            "音楽",
            "映画",
            "仕事",
            "料理",
            "バッテリー",
            "コーヒー",
        ],
        joiner: "",
        suffixes: &["は", "を", "に", "で", "の", "も", "が", "ました。"],
    },
    Script {
        name: "chinese",
        words: &[
            "北京",
            "烤鸭",
            "长城",
            "学校",
            "朋友",
            "电脑",
            "工作",
            "天气",
            "音乐",
            "电影",
            "图书馆",
            "饭店",
            "火车",
            "老师",
            "学生",
        ],
        joiner: "",
        suffixes: &["的", "了", "在", "我们", "，", "。"],
    },
    Script {
        name: "korean",
        words: &[
            "서울",
            "김치",
            "한강",
            "학교",
            "친구",
            "음식",
            "여행",
            "사진",
            "도서관",
            "영화",
            "커피",
            "공원",
        ],
        joiner: " ",
        suffixes: &["에서", "를", "은", "이", "도", "와"],
    },
    Script {
        name: "thai",
        words: &[
            "ต้มยำ",
            "ผัดไทย",
            "ตลาด",
            "โรงเรียน",
            "เพื่อน",
            "อาหาร",
            "ทะเล",
            "รถไฟ",
            "ห้องสมุด",
            "ภาพยนตร์",
            "กาแฟ",
            "สวน",
        ],
        joiner: "",
        suffixes: &[],
    },
];

const EMOJI: &[&str] = &["🍣", "🎉", "👍🏽", "🌸", "🚆"];

/// A small xorshift generator: the corpus is the same in every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> (usize, &'a str) {
        let i = (self.next() % from.len().max(1) as u64) as usize;
        (i, from.get(i).copied().unwrap_or(""))
    }
}

/// One generated document, with the (script, word) pairs it holds.
pub(crate) struct Doc {
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) words: HashSet<(usize, usize)>,
}

/// `count` documents of about `body_bytes` each, a primary script each in turn, with
/// some Latin words and emoji mixed in.
pub(crate) fn corpus(count: usize, body_bytes: usize, seed: u64) -> Vec<Doc> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|n| {
            let s = n % SCRIPTS.len();
            let mut words = HashSet::new();
            let text = |rng: &mut Rng, bytes: usize, words: &mut HashSet<(usize, usize)>| {
                let mut out = String::new();
                while out.len() < bytes {
                    // One word in eight is Latin, one in forty an emoji: mixed text.
                    let roll = rng.next() % 40;
                    let (script, i, w) = if roll == 0 {
                        let (_, e) = rng.pick(EMOJI);
                        (usize::MAX, 0, e)
                    } else if roll < 5 && s != 0 {
                        let (i, w) = rng.pick(SCRIPTS.first().map_or(&[][..], |x| x.words));
                        (0, i, w)
                    } else {
                        let (i, w) = rng.pick(SCRIPTS.get(s).map_or(&[][..], |x| x.words));
                        (s, i, w)
                    };
                    let joiner = if script == s {
                        SCRIPTS.get(s).map_or(" ", |x| x.joiner)
                    } else {
                        " "
                    };
                    if !out.is_empty() {
                        out.push_str(if joiner.is_empty() && rng.next().is_multiple_of(12) {
                            " "
                        } else {
                            joiner
                        });
                    }
                    out.push_str(w);
                    if script != usize::MAX {
                        words.insert((script, i));
                    }
                    if script == s {
                        let suffixes = SCRIPTS.get(s).map_or(&[][..], |x| x.suffixes);
                        if !suffixes.is_empty() && rng.next().is_multiple_of(2) {
                            out.push_str(rng.pick(suffixes).1);
                        }
                    }
                }
                out
            };
            let title = text(&mut rng, 12, &mut words);
            let body = text(&mut rng, body_bytes, &mut words);
            Doc { title, body, words }
        })
        .collect()
}

/// What a timed query looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    OneWord,
    TwoWords,
    Prefix,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::OneWord => "one_word",
            Kind::TwoWords => "two_words",
            Kind::Prefix => "prefix",
        }
    }
}

/// A query and the documents holding its words (for prefixes: any word of the
/// script starting with it).
pub(crate) struct BenchQuery {
    pub(crate) text: String,
    pub(crate) truth: HashSet<usize>,
}

/// `n` queries of `kind` in script `s`.
pub(crate) fn queries(
    docs: &[Doc],
    s: usize,
    kind: Kind,
    n: usize,
    rng: &mut Rng,
) -> Vec<BenchQuery> {
    let Some(script) = SCRIPTS.get(s) else {
        return Vec::new();
    };
    (0..n)
        .map(|_| {
            let (a, wa) = rng.pick(script.words);
            let (b, wb) = rng.pick(script.words);
            match kind {
                Kind::OneWord => BenchQuery {
                    text: wa.to_owned(),
                    truth: holding(docs, &[(s, a)]),
                },
                Kind::TwoWords => BenchQuery {
                    text: format!("{wa} {wb}"),
                    truth: holding(docs, &[(s, a), (s, b)]),
                },
                Kind::Prefix => {
                    // What has been typed so far: a character of CJK or Thai, or the
                    // first three letters of a word.
                    let len = if script.joiner.is_empty() || s == 4 {
                        1
                    } else {
                        3
                    };
                    let prefix: String = wa.chars().take(len).collect();
                    let matching: Vec<(usize, usize)> = script
                        .words
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.starts_with(prefix.as_str()))
                        .map(|(i, _)| (s, i))
                        .collect();
                    let truth = docs
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| matching.iter().any(|w| d.words.contains(w)))
                        .map(|(i, _)| i)
                        .collect();
                    BenchQuery {
                        text: prefix,
                        truth,
                    }
                }
            }
        })
        .collect()
}

fn holding(docs: &[Doc], words: &[(usize, usize)]) -> HashSet<usize> {
    docs.iter()
        .enumerate()
        .filter(|(_, d)| words.iter().all(|w| d.words.contains(w)))
        .map(|(i, _)| i)
        .collect()
}
