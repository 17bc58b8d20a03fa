/* café */ int café;
