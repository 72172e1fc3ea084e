FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir . && sigurno nlu train && chown -R 1000 /app/var
USER 1000
EXPOSE 8080
CMD ["sigurno", "serve", "--host", "0.0.0.0"]
