//! Scoring outputs: corpus BLEU, chrF, chrF++ (sacrebleu-exact) and ROUGE-L, and the
//! faithfulness check for numbers and dates. (Contract stub: the score helper fills it.)
