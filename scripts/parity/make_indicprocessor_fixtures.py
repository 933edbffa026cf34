"""Builds tests/fixtures/indictrans/processor.json: what AI4Bharat's IndicProcessor
(PyPI `indictranstoolkit`, the pre- and post-processing the IndicTrans2 examples run
around the model) makes of strings written for saar to stress it, for
tests/indictrans_processor.rs.

Run by hand (never from tests), in a venv with indictranstoolkit installed:
  PYTHONHASHSEED=0 python scripts/parity/make_indicprocessor_fixtures.py

The processor numbers its placeholders in Python `set` order; PYTHONHASHSEED=0 makes
that order repeatable. saar numbers them in an order of its own, so the tests compare
preprocessed text after renumbering placeholders by first appearance.

Each "pre" case: a source sentence and the direction, the preprocessed text (without
the two language tags), and the placeholder entities by serial number.
Each "post" case: the entities of a source, a made-up model output that uses those
serials in the forms models produce (and mangle), and the restored, detokenized text.
"""

import json
from importlib.metadata import version
from pathlib import Path

from IndicTransToolkit.processor import IndicProcessor

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "indictrans" / "processor.json"

HINDI = [
    "आज दिल्ली में बारिश हुई।",
    "सरकार ने कहा कि 2024-25 में विकास दर 6.5% रहेगी।",
    "रिपोर्ट https://example.org/news/report-2024?id=42 पर उपलब्ध है।",
    "अधिक जानकारी के लिए info@example.com पर लिखें या www.saar-news.in देखें।",
    "मंत्री ने @saar_news पर लिखा: #बजट2024 सबके लिए है।",
    "बैठक 15/08/2023 को सुबह 10:30 बजे शुरू हुई।",
    "कीमत १२,५०० रुपये से बढ़कर १५,७५० रुपये हो गई।",
    "मतदान ६५.४ प्रतिशत रहा , जो पिछली बार से ज़्यादा है ।",
    "उन्होंने कहा , “हम जीतेंगे” — और चले गए…",
    "तापमान 40 % तक पहुँच गया ( पिछले साल 38 % था ) ।",
    "यह ख़बर ग़लत है | सच कुछ और है |",
    "अनुपात 3:2 रहा; यानी 60-40 का बँटवारा।",
    "कंपनी का राजस्व 1,23,456 करोड़ रुपये रहा।",
    "फ़ोन नंबर 011-23456789 पर संपर्क करें।",
    "वह 2019 से 2023 तक मंत्री रहे।",
    "क़ानून की धारा 370 पर बहस हुई।",
    "नई\u00a0दिल्ली\u200c में\u200d आज\u200b सम्मेलन है।",
    "उसने कहा: ‘ठीक है’ और मुस्कुराया।",
    "सूचकांक 0.75 अंक गिरकर 72,000 पर बंद हुआ।",
    "सीमा पर ~25% सैनिक तैनात हैं, 10-15% रिज़र्व में।",
    "दुःख की बात है कि दाम 5.5-6.0% बढ़े।",
    "ट्वीट में लिखा था: Breaking news from Delhi!",
    "स्कोर 250/3 था और 20 ओवर बचे थे।",
    "1.5 लाख लोग आए... फिर भी भीड़ कम थी।",
    "ईमेल rahul.sharma+news@mail.co.in पर भेजें।",
    "वेबसाइट saar.example.com/hi/desh पर पढ़ें।",
    "ब्याज दर 6.50 से घटकर 6.25 प्रतिशत हुई।",
    "टीम   ने    शानदार    खेल दिखाया।",
    "क्या यह सच है ? हाँ !",
    "परीक्षा 12.03.2024 से शुरू होगी।",
    "सत्र 9:00-17:00 तक चलेगा।",
    "दाम ₹ 1,200 से ₹ 1,450 हुए।",
]

ENGLISH_OUTPUTS = [
    "It rained in Delhi today .",
    "The government said that growth will be <ID1> in <ID2> .",
    "The report is available at < ID1 > .",
    "For more information , write to [ID1] or visit [ ID2 ] .",
    "The minister wrote on <ID1]: <ID2> is for everyone .",
    "The meeting began on <id1> at < ID2 ] in the morning .",
    "The price rose from आईडी1 rupees to आई. डी. 2 rupees .",
    "Turnout was 65.4 per cent , higher than last time .",
    "He said , \" We will win \" - and left ...",
    "The temperature reached <ID1> ( it was <ID2> last year ) .",
    "This news is wrong . The truth is something else .",
    "The ratio was <ID1> ; that is , a <ID2> split .",
    "The company 's revenue was Rs [ID 1] crore .",
    "Contact on phone number <ID1> .",
    "He was a minister from 2019 to 2023 .",
    "There was a debate on Section 370 of the law .",
    "There is a conference in New Delhi today .",
    "He said : ' Okay ' and smiled .",
    "The index fell 0.75 points to close at <ID1> .",
    "<ID1> soldiers are deployed on the border , <ID2> in reserve .",
    "It is sad that prices rose <ID1> .",
    "The tweet said : Breaking news from Delhi !",
    "The score was <ID1> with 20 overs left .",
    "150,000 people came ... yet the crowd was small .",
    "Send an email to <ID1> .",
    "Read on <ID1> .",
    "The interest rate fell from 6.50 to <ID1> per cent .",
    "The team played brilliantly .",
    "Is this true ? Yes !",
    "The exam will start from <ID1> .",
    "The session will run from <ID1> .",
    "Prices rose from ₹ <ID1> to ₹ <ID2> .",
]

ENGLISH_SOURCES = [
    "The Reserve Bank kept the repo rate at 6.5% on Friday.",
    "Read more at https://example.org/economy or mail desk@example.com.",
    "He said: \"We won't stop\" - and the crowd cheered...",
    "Prices rose 12.5% (from Rs 1,200 to Rs 1,350) in 2023-24.",
    "Dr. Sharma's team, led by Mr. Verma, met the U.S. delegation.",
    "Is it true?  Yes!  It's 10:30 a.m. now.",
]

HINDI_OUTPUTS_FOR_ENGLISH = [
    "रिज़र्व बैंक ने शुक्रवार को रेपो दर <ID1> पर रखी ।",
    "अधिक पढ़ें <ID1> पर या मेल करें <ID2> ।",
    "उन्होंने कहा : \" हम नहीं रुकेंगे \" - और भीड़ ने तालियाँ बजाईं ...",
    "कीमतें <ID1> बढ़ीं ( <ID2> से <ID3> तक ) <ID4> में ।",
    "डॉ . शर्मा की टीम , श्री वर्मा के नेतृत्व में , अमेरिकी प्रतिनिधिमंडल से मिली ।",
    "क्या यह सच है ? हाँ ! अभी <ID1> बजे हैं ।",
]


def entities(ip: IndicProcessor, source: str, src_lang: str, tgt_lang: str) -> list[str]:
    """The placeholder entities of `source` by serial number. The map is internal to the
    compiled processor, so each serial is asked for through postprocessing: `<IDk>`
    alone comes back as the entity it stands for, or unchanged past the last one."""
    found = []
    while len(found) < 50:
        probe = f"<ID{len(found) + 1}>"
        ip.preprocess_batch([source], src_lang=src_lang, tgt_lang=tgt_lang)
        restored = ip.postprocess_batch([probe], lang=tgt_lang)[0]
        if restored == probe:
            return found
        found.append(restored)
    raise AssertionError(f"too many placeholders in {source!r}")


def cases(ip, sources, outputs, src_lang, tgt_lang):
    pre, post = [], []
    for source, output in zip(sources, outputs, strict=True):
        found = entities(ip, source, src_lang, tgt_lang)
        tagged = ip.preprocess_batch([source], src_lang=src_lang, tgt_lang=tgt_lang)[0]
        ip.postprocess_batch([""], lang=tgt_lang)  # empties the processor's queue
        prefix = f"{src_lang} {tgt_lang} "
        assert tagged.startswith(prefix), tagged
        for entity in found:
            assert entity in source or entity in tagged, (entity, source)
        pre.append({
            "source": source,
            "src_lang": src_lang,
            "tgt_lang": tgt_lang,
            "preprocessed": tagged[len(prefix):],
            "entities": found,
        })
        ip.preprocess_batch([source], src_lang=src_lang, tgt_lang=tgt_lang)
        restored = ip.postprocess_batch([output], lang=tgt_lang)[0]
        post.append({"output": output, "lang": tgt_lang, "entities": found, "postprocessed": restored})
    return pre, post


def main() -> None:
    ip = IndicProcessor(inference=True)
    pre_hi, post_en = cases(ip, HINDI, ENGLISH_OUTPUTS, "hin_Deva", "eng_Latn")
    # English sources go through Moses's tokenizer, which saar does not reproduce:
    # only their outputs' post-processing (the Indic detokenizer) is recorded.
    _, post_hi = cases(ip, ENGLISH_SOURCES, HINDI_OUTPUTS_FOR_ENGLISH, "eng_Latn", "hin_Deva")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "made_with": {"indictranstoolkit": version("indictranstoolkit"),
                      "sacremoses": version("sacremoses"),
                      "indic-nlp-library-itt": version("indic-nlp-library-itt")},
        "pre": pre_hi,
        "post": post_en + post_hi,
    }, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}: {len(pre_hi)} pre, {len(post_en) + len(post_hi)} post cases")


if __name__ == "__main__":
    main()
