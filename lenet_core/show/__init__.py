"""What people see, as pure Python (no Streamlit): text, tables and Plotly figures."""
