# Parses the bodies written by `RAMPART_WIRE_DUMP=<dir> cargo test -p rampart-wire --test dump`
# with botocore's own response parsers: `python3 crates/wire/tests/botocore_check.py <dir>`.
import botocore.session, botocore.parsers, botocore.awsrequest, os, json, sys
sess = botocore.session.get_session()
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if f.endswith('.headers'): continue
    svc, op, status = f.split('.')
    model = sess.get_service_model(svc)
    body = open(os.path.join(d, f), 'rb').read()
    parser = botocore.parsers.create_parser(model.metadata['protocol'])
    headers = {}
    if status != '200':
        hp = os.path.join(d, f'{svc}.error.headers')
        headers = botocore.awsrequest.HeadersDict(
            dict(l.split(': ',1) for l in open(hp).read().splitlines()))
        shape = None
    else:
        shape = model.operation_model(op).output_shape
    res = parser.parse({'body': body, 'status_code': int(status), 'headers': headers}, shape)
    res.pop('ResponseMetadata', None) if status=='200' else None
    print(f, '->', res)
