int x = 'ab';
