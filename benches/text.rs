//! Throughput of segmentation and chunking on a few megabytes of generated Hindi news
//! (sentences written for the project), in bytes per second. Target: 50 MB/s on one core.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use saar::text::counters::WordCounter;
use saar::text::{chunk, split_sentences, ChunkSettings};

const SENTENCES: &[&str] = &[
    "नगर निगम ने बुधवार को नई जल आपूर्ति योजना की घोषणा की।",
    "डॉ. मीना वर्मा ने बताया कि परियोजना पर लगभग २.५ करोड़ रुपये खर्च होंगे।",
    "बैठक सुबह 10.30 बजे शुरू हुई और दोपहर तक चली.",
    "अधिकारियों के अनुसार, इस साल बारिश औसत से 12.4 प्रतिशत कम रही।",
    "The committee will publish its report by March 31, officials said.",
    "क्या शहर इस बदलाव के लिए तैयार है?",
    "स्थानीय व्यापारियों ने कहा, “हमें अब तक कोई सूचना नहीं मिली।”",
    "पूरी जानकारी www.example.org पर उपलब्ध है।",
    "शिकायतें info@example.org पर भेजी जा सकती हैं।",
    "एस. के. गुप्ता ने नई सड़क का उद्घाटन किया।",
    "Mr. Rao met U.S. officials in the afternoon.",
    "मौसम विभाग ने अगले दो दिनों में हल्की बारिश की संभावना जताई है।",
    "विपक्ष ने कहा कि योजना में पारदर्शिता की कमी है, लेकिन सरकार ने आरोपों को खारिज कर दिया।",
    "किसानों को 2 1/2 एकड़ तक की जमीन पर सब्सिडी मिलेगी!",
    "इस फ़ैसले से ज़िले के करीब ३० हज़ार परिवारों को लाभ होगा।",
];

/// About `target_bytes` of text: sentences in a fixed pseudo-random order, with line
/// breaks and paragraph breaks between some of them.
fn generated_article(target_bytes: usize) -> String {
    let mut text = String::with_capacity(target_bytes + 256);
    let mut state: u32 = 0x9E37_79B9;
    while text.len() < target_bytes {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        text.push_str(SENTENCES[state as usize % SENTENCES.len()]);
        text.push_str(match state % 16 {
            0 => "\n\n",
            1 | 2 => "\n",
            _ => " ",
        });
    }
    text
}

fn segmentation_and_chunking(c: &mut Criterion) {
    let text = generated_article(4 << 20);
    let mut group = c.benchmark_group("text");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("split_sentences", |b| {
        b.iter(|| split_sentences(std::hint::black_box(&text)))
    });
    let settings = ChunkSettings {
        max_tokens: 256,
        overlap_sentences: 1,
    };
    group.bench_function("split_sentences+chunk", |b| {
        b.iter(|| {
            let sentences = split_sentences(std::hint::black_box(&text));
            chunk(&text, &sentences, &WordCounter, settings)
        })
    });
    group.finish();
}

criterion_group!(benches, segmentation_and_chunking);
criterion_main!(benches);
