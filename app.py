"""LeNet Lab: the dashboard (placeholder until the pages land)."""

import streamlit as st

st.title("LeNet Lab")
st.write("Train, inspect and play with LeNet-5. Use `python -m lenet_core --help` meanwhile.")
