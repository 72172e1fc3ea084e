"""What the bot did not understand: capture (masked), labelling, training a candidate model, publishing it.

capture.py  the dispatcher's hook: masks and queues not-understood messages
export.py   labelled examples as Rasa NLU YAML (`sigurno nlu export`, and the candidate's training data)
training.py one background training job at a time: a child process trains and scores a candidate
live_model.py  every process loads a published model from the database (bot/live.py's Follower)
"""
