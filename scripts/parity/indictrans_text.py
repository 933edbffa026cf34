"""Text written for saar's IndicTrans2 fixtures, on top of marian_text.py.

The extra training lines carry what IndicProcessor leaves in the text a model sees
(its `<ID1>` placeholders, digits, URLs that survive, Latin words), so the tiny
SentencePiece models have pieces for them. Every line was written for the project.
"""

from marian_text import ENGLISH_TRAINING, HINDI_PROBES, HINDI_TRAINING

HINDI_EXTRA = [
    "पूरी रिपोर्ट <ID1> पर पढ़ें और सवाल <ID2> पर भेजें।",
    "मंत्री ने @saar_news पर लिखा कि काम 15 अगस्त तक पूरा होगा।",
    "वेबसाइट https://example.org/khabar पर 3.5 लाख लोग आए।",
    "संपर्क: info@example.org या 011-2345-6789 पर फ़ोन करें।",
    "#बजट2025 पर संसद में १० घंटे चर्चा हुई।",
    "उन्होंने कहा, ‘हम तैयार हैं’ — और बैठक ख़त्म हुई।",
]

ENGLISH_EXTRA = [
    "Read the full report at <ID1> and send questions to <ID2>.",
    "The minister wrote on @saar_news that the work will finish by 15 August.",
    "3.5 lakh people visited https://example.org/khabar.",
    "Contact info@example.org or call 011-2345-6789.",
    "Parliament debated #Budget2025 for 10 hours.",
    "He said, 'We are ready' and the meeting ended.",
]

SOURCE_TRAINING = HINDI_TRAINING + HINDI_EXTRA
TARGET_TRAINING = ENGLISH_TRAINING + ENGLISH_EXTRA

# Probe texts after the language tags. HF's tokenizer splits literal special tokens
# out before it reads the tags (and then fails on the pieces without tags), so
# probes carrying `</s>` or `<unk>` are left out: they are not input it accepts.
_SPECIAL = ("</s>", "<unk>", "<pad>", "<s>")
HINDI_PROBE_TEXTS = [t for t in HINDI_PROBES if not any(s in t for s in _SPECIAL)] + [
    "रिपोर्ट <ID1> पर और ईमेल <ID2> पर भेजें।",
    "@saar_news ने #बजट2025 पर 12.5% की बात कही।",
    "https://example.org/a?b=1 और info@example.org",
    "१२३४५ और 67890 और ३.१४",
    "उसने कहा — ‘ठीक है’… फिर “चलो” बोला।",
    "मैं Delhi से Mumbai गया; फिर Pune!",
    "नमस्ते ।। क्या हाल है ॥ ठीक",
]

# (source tag, target tag, text): the direction tags the tokenizer puts first.
PROBES = [("hin_Deva", "eng_Latn", t) for t in HINDI_PROBE_TEXTS] + [
    ("eng_Latn", "hin_Deva", "The river has risen above the danger mark."),
    ("mar_Deva", "eng_Latn", "आज पाऊस पडला."),
]
