"""Text written for saar's parity fixtures: tokenizer training sentences, test prompts
and chat conversations. Everything here was composed for the project (no scraped text).
"""

HINDI_SENTENCES = [
    "आज सुबह शहर में हल्की बारिश हुई और तापमान गिर गया।",
    "नगर निगम ने नई सड़क बनाने का काम शुरू कर दिया है।",
    "किसानों ने बताया कि इस साल गेहूं की फसल अच्छी रही।",
    "रेलवे ने त्योहारों के लिए तीन विशेष गाड़ियां चलाने की घोषणा की।",
    "विद्यालय में बच्चों के लिए विज्ञान प्रदर्शनी लगाई गई।",
    "सरकार ने कहा कि अस्पतालों में दवाओं की कमी नहीं होगी।",
    "क्रिकेट मैच में भारतीय टीम ने पांच विकेट से जीत दर्ज की।",
    "मौसम विभाग के अनुसार अगले दो दिन तेज हवा चलेगी।",
    "पुलिस ने बताया कि दुर्घटना में कोई घायल नहीं हुआ।",
    "गांव के लोगों ने मिलकर तालाब की सफाई की।",
    "बाजार में सब्जियों के दाम पिछले हफ्ते से कम हुए हैं।",
    "मुख्यमंत्री ने नए पुल का उद्घाटन किया और लोगों को बधाई दी।",
    "पुस्तकालय अब रविवार को भी खुला रहेगा।",
    "वैज्ञानिकों ने नदी के पानी की जांच के लिए नमूने लिए।",
    "शहर के संग्रहालय में पुराने सिक्कों की प्रदर्शनी लगी है।",
    "बिजली विभाग ने कहा कि कल दोपहर दो घंटे बिजली बंद रहेगी।",
    "छात्रों ने परीक्षा के नतीजों पर खुशी जताई।",
    "नई बस सेवा से दफ्तर जाने वालों को राहत मिलेगी।",
    "डॉक्टरों ने लोगों से पानी उबालकर पीने की अपील की।",
    "खेल मंत्रालय ने युवा खिलाड़ियों के लिए छात्रवृत्ति की घोषणा की।",
    "पहाड़ों पर बर्फ गिरने से पर्यटकों की संख्या बढ़ी है।",
    "अदालत ने मामले की अगली सुनवाई अगले महीने तय की।",
    "कंपनी ने बताया कि उसका मुनाफा दस प्रतिशत बढ़ा।",
    "राज्य में नए कॉलेज खोलने का प्रस्ताव पास हुआ।",
    "हवाई अड्डे पर कोहरे के कारण उड़ानें देर से चलीं।",
    "यह ख़बर देश और दुनिया के पाठकों के लिए अहम है।",
    "लेख में कहा गया है कि जल संरक्षण सबकी ज़िम्मेदारी है।",
    "समिति की बैठक में बजट पर विस्तार से चर्चा हुई।",
]

ENGLISH_SENTENCES = [
    "Light rain fell across the city this morning and temperatures dropped.",
    "The municipal corporation has started building a new road.",
    "Farmers said the wheat harvest was good this year.",
    "The railway announced three special trains for the festival season.",
    "A science fair was held for the children at the school.",
    "The government said hospitals will not run short of medicines.",
    "India won the cricket match by five wickets.",
    "The weather office expects strong winds for the next two days.",
    "Police said nobody was injured in the accident.",
    "Summarize the following news article in English.",
    "Translate the following Hindi text into English.",
    "You are a careful assistant that writes short, accurate summaries.",
    "The library will now stay open on Sundays as well.",
    "Scientists collected samples to test the river water.",
    "The court set the next hearing for next month.",
    "Flights were delayed at the airport because of fog.",
]

# Mixed sentences teach the tokenizer the joins between scripts that news text has.
MIXED_SENTENCES = [
    "Summary: नगर निगम ने नई सड़क का काम शुरू किया।",
    "Translation: पुलिस ने कहा कि कोई घायल नहीं हुआ। Police said nobody was hurt.",
    "IPL 2024 में टीम ने 180 रन बनाए।",
    "Hindi: मौसम साफ रहेगा। English: The weather will be clear.",
]


def training_corpus():
    """The sentences every fixture tokenizer is trained on, repeated so merges settle."""
    return (HINDI_SENTENCES + ENGLISH_SENTENCES + MIXED_SENTENCES) * 4


# The three prompts each model is run on. `chat` is rendered through the model's chat
# template; the other two are tokenized as they are.
CHAT_USER_MESSAGE = (
    "इस ख़बर का सार अंग्रेज़ी में लिखिए: रेलवे ने त्योहारों के लिए तीन विशेष गाड़ियां चलाने की घोषणा की।"
)
# Contains characters absent from the training text (ॐ, ₹, ऋ) so that byte fallback
# and rare byte sequences are exercised.
RAW_HINDI_PROMPT = "ॐ शांति: ऋषिकेश में गंगा आरती के लिए ₹५० का टिकट, भीड़ बहुत रही।"
MIXED_PROMPT = "Breaking news: मुंबई में भारी बारिश, local trains 30 मिनट देर से चल रहीं।"

SYSTEM_MESSAGE = "You summarize Hindi news in clear English."

# Message lists for the exact chat-template string test.
CONVERSATIONS = {
    "user_only": [
        {"role": "user", "content": "इस लेख का अनुवाद कीजिए: पुस्तकालय अब रविवार को भी खुला रहेगा।"},
    ],
    "system_user": [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": "  सार लिखिए: बाजार में सब्जियों के दाम कम हुए हैं।  "},
    ],
    "multi_turn": [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": "सार लिखिए: छात्रों ने परीक्षा के नतीजों पर खुशी जताई।"},
        {"role": "assistant", "content": "Students were happy with their exam results."},
        {"role": "user", "content": "Now in one word?"},
    ],
}
