/**
 * llama2.c's own regression golden (test_all.py, `expected_stdout`, MIT): what
 * `./run stories260K.bin -z tok512.bin -t 0.0 -n 200` prints, minus run.c's final newline.
 * That is BOS followed by 200 greedy tokens.
 */
export const LLAMA2C_GREEDY_200 =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."\n' +
  'Lily was sad and didn\'t know what to do. She said, "I\'m sorry, Lily. I didn\'t know what to do."\n' +
  "Lily didn't want to help her mom, so she";
