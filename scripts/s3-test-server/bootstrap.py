"""Creates the S3 test user on a freshly started moto_s3_server.py and prints its key.

The server was started with INITIAL_NO_AUTH_ACTION_COUNT=4: exactly these four IAM calls may go
unauthenticated (any dummy key works); from then on every request must be signed with the key
printed here. Output: one line, "<access key id> <secret access key>".

Usage: python bootstrap.py http://127.0.0.1:PORT
"""
import json
import sys

import boto3
from botocore.config import Config

endpoint = sys.argv[1]
iam = boto3.client(
    "iam",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
    config=Config(retries={"max_attempts": 1}),
)
user = "vidd-test"
iam.create_user(UserName=user)
key = iam.create_access_key(UserName=user)["AccessKey"]
policy = iam.create_policy(
    PolicyName="vidd-test-s3-all",
    PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }),
)["Policy"]
iam.attach_user_policy(UserName=user, PolicyArn=policy["Arn"])
print(key["AccessKeyId"], key["SecretAccessKey"])
